"""PyTorch twin of SynDiffusion's UNet2DCondition (same module tree and parameter names).

Used by Scripts/fixtures_unet.py (parity fixtures) and Scripts/bench_torch.py (the same UNet
step in PyTorch). The layout follows diffusers' UNet2DConditionModel: ResnetBlock2D,
Transformer2DModel with linear projections, BasicTransformerBlock with a GELU feed-forward,
Downsample2D (stride-2 conv) and Upsample2D (nearest + conv), an `add_embedding` MLP on the
pooled caption vector. Written here so no diffusers version pins the names.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def timestep_embedding(t, dim, max_period=10000):
    """diffusers get_timestep_embedding(flip_sin_to_cos=True, downscale_freq_shift=0)."""
    half = dim // 2
    exponent = -math.log(max_period) * torch.arange(0, half, dtype=torch.float32) / half
    emb = t[:, None].float() * torch.exp(exponent)[None, :]
    return torch.cat([torch.cos(emb), torch.sin(emb)], dim=-1)


class TimestepEmbedding(nn.Module):
    def __init__(self, inp, width):
        super().__init__()
        self.linear_1 = nn.Linear(inp, width)
        self.linear_2 = nn.Linear(width, width)

    def forward(self, x):
        return self.linear_2(F.silu(self.linear_1(x)))


class ResnetBlock2D(nn.Module):
    def __init__(self, cin, cout, emb, groups):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=1e-5)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(emb, cout)
        self.norm2 = nn.GroupNorm(groups, cout, eps=1e-5)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_emb_proj(F.silu(emb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        skip = self.conv_shortcut(x) if self.conv_shortcut is not None else x
        return skip + h


class Attention(nn.Module):
    def __init__(self, dim, heads, context_dim=None):
        super().__init__()
        cd = context_dim or dim
        self.heads = heads
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(cd, dim, bias=False)
        self.to_v = nn.Linear(cd, dim, bias=False)
        self.to_out = nn.ModuleList([nn.Linear(dim, dim), nn.Dropout(0.0)])

    def forward(self, x, context=None, key_mask=None):
        ctx = x if context is None else context
        B, N, D = x.shape
        L = ctx.shape[1]
        h, d = self.heads, D // self.heads
        q = self.to_q(x).reshape(B, N, h, d).transpose(1, 2)
        k = self.to_k(ctx).reshape(B, L, h, d).transpose(1, 2)
        v = self.to_v(ctx).reshape(B, L, h, d).transpose(1, 2)
        mask = None
        if key_mask is not None:
            mask = torch.zeros(B, 1, 1, L).masked_fill(key_mask[:, None, None, :] == 0, float("-inf"))
        o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.to_out[0](o.transpose(1, 2).reshape(B, N, D))


class GELUProj(nn.Module):
    def __init__(self, dim, inner):
        super().__init__()
        self.proj = nn.Linear(dim, inner)

    def forward(self, x):
        return F.gelu(self.proj(x))


class FeedForward(nn.Module):
    def __init__(self, dim, mult=4):
        super().__init__()
        self.net = nn.ModuleList([GELUProj(dim, dim * mult), nn.Dropout(0.0), nn.Linear(dim * mult, dim)])

    def forward(self, x):
        return self.net[2](self.net[0](x))


class BasicTransformerBlock(nn.Module):
    def __init__(self, dim, heads, context_dim):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.attn2 = Attention(dim, heads, context_dim)
        self.norm3 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim)

    def forward(self, x, context, key_mask):
        h = x + self.attn1(self.norm1(x))
        h = h + self.attn2(self.norm2(h), context, key_mask)
        return h + self.ff(self.norm3(h))


class Transformer2D(nn.Module):
    def __init__(self, channels, heads, context_dim, groups, depth=1):
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels, eps=1e-6)
        self.proj_in = nn.Linear(channels, channels)
        self.transformer_blocks = nn.ModuleList([BasicTransformerBlock(channels, heads, context_dim) for _ in range(depth)])
        self.proj_out = nn.Linear(channels, channels)

    def forward(self, x, context, key_mask):
        B, C, H, W = x.shape
        h = self.norm(x).permute(0, 2, 3, 1).reshape(B, H * W, C)
        h = self.proj_in(h)
        for b in self.transformer_blocks:
            h = b(h, context, key_mask)
        h = self.proj_out(h)
        return x + h.reshape(B, H, W, C).permute(0, 3, 1, 2)


class Downsample2D(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2, padding=1)

    def forward(self, x):
        return self.conv(x)


class Upsample2D(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class DownBlock(nn.Module):
    def __init__(self, cin, cout, layers, attention, downsample, cfg):
        super().__init__()
        emb, groups, hd, cd = cfg["time_embed_dim"], cfg["norm_groups"], cfg["attention_head_dim"], cfg["cross_attention_dim"]
        self.resnets = nn.ModuleList([ResnetBlock2D(cin if j == 0 else cout, cout, emb, groups) for j in range(layers)])
        self.attentions = nn.ModuleList([Transformer2D(cout, cout // hd, cd, groups) for _ in range(layers)] if attention else [])
        self.downsamplers = nn.ModuleList([Downsample2D(cout)]) if downsample else None

    def forward(self, h, emb, ctx, mask, skips):
        for j, r in enumerate(self.resnets):
            h = r(h, emb)
            if len(self.attentions):
                h = self.attentions[j](h, ctx, mask)
            skips.append(h)
        if self.downsamplers is not None:
            h = self.downsamplers[0](h)
            skips.append(h)
        return h


class UpBlock(nn.Module):
    def __init__(self, prev, cout, skip_in, layers, attention, upsample, cfg):
        super().__init__()
        emb, groups, hd, cd = cfg["time_embed_dim"], cfg["norm_groups"], cfg["attention_head_dim"], cfg["cross_attention_dim"]
        res = []
        for j in range(layers):
            skip = skip_in if j == layers - 1 else cout
            cin = (prev if j == 0 else cout) + skip
            res.append(ResnetBlock2D(cin, cout, emb, groups))
        self.resnets = nn.ModuleList(res)
        self.attentions = nn.ModuleList([Transformer2D(cout, cout // hd, cd, groups) for _ in range(layers)] if attention else [])
        self.upsamplers = nn.ModuleList([Upsample2D(cout)]) if upsample else None

    def forward(self, h, emb, ctx, mask, skips):
        for j, r in enumerate(self.resnets):
            h = r(torch.cat([h, skips.pop()], dim=1), emb)
            if len(self.attentions):
                h = self.attentions[j](h, ctx, mask)
        if self.upsamplers is not None:
            h = self.upsamplers[0](h)
        return h


class MidBlock(nn.Module):
    def __init__(self, c, cfg):
        super().__init__()
        emb, groups, hd, cd = cfg["time_embed_dim"], cfg["norm_groups"], cfg["attention_head_dim"], cfg["cross_attention_dim"]
        self.resnets = nn.ModuleList([ResnetBlock2D(c, c, emb, groups), ResnetBlock2D(c, c, emb, groups)])
        self.attentions = nn.ModuleList([Transformer2D(c, c // hd, cd, groups)])

    def forward(self, h, emb, ctx, mask):
        h = self.resnets[0](h, emb)
        return self.resnets[1](self.attentions[0](h, ctx, mask), emb)


DEFAULT_CONFIG = dict(sample_size=32, channels=1, block_out_channels=[16, 32, 64, 64], layers_per_block=1,
                      attention_levels=[False, False, True, True], attention_head_dim=32, cross_attention_dim=384,
                      norm_groups=8, timestep_channels=64, time_embed_dim=256, pooled_projection=True)


class UNet2DCondition(nn.Module):
    def __init__(self, cfg=None):
        super().__init__()
        cfg = dict(DEFAULT_CONFIG if cfg is None else cfg)
        ch = cfg["block_out_channels"]
        n = len(ch)
        self.cfg = cfg
        self.conv_in = nn.Conv2d(cfg["channels"], ch[0], 3, padding=1)
        self.time_embedding = TimestepEmbedding(cfg["timestep_channels"], cfg["time_embed_dim"])
        self.add_embedding = TimestepEmbedding(cfg["cross_attention_dim"], cfg["time_embed_dim"]) if cfg["pooled_projection"] else None
        L = cfg["layers_per_block"]
        self.down_blocks = nn.ModuleList([
            DownBlock(ch[0] if i == 0 else ch[i - 1], ch[i], L, cfg["attention_levels"][i], i < n - 1, cfg) for i in range(n)])
        self.mid_block = MidBlock(ch[-1], cfg)
        ups, prev = [], ch[-1]
        for i in range(n):
            level = n - 1 - i
            ups.append(UpBlock(prev, ch[level], ch[max(level - 1, 0)], L + 1, cfg["attention_levels"][level], level > 0, cfg))
            prev = ch[level]
        self.up_blocks = nn.ModuleList(ups)
        self.conv_norm_out = nn.GroupNorm(cfg["norm_groups"], ch[0], eps=1e-5)
        self.conv_out = nn.Conv2d(ch[0], cfg["channels"], 3, padding=1)

    def forward(self, x, t, tokens, mask, pooled):
        emb = self.time_embedding(timestep_embedding(t, self.cfg["timestep_channels"]))
        if self.add_embedding is not None:
            emb = emb + self.add_embedding(pooled)
        h = self.conv_in(x)
        skips = [h]
        for b in self.down_blocks:
            h = b(h, emb, tokens, mask, skips)
        h = self.mid_block(h, emb, tokens, mask)
        for b in self.up_blocks:
            h = b(h, emb, tokens, mask, skips)
        return self.conv_out(F.silu(self.conv_norm_out(h)))

#!/usr/bin/env python3
"""PyTorch side of `synclr-bench`: the same workloads, run on request so both sides interleave.

The line protocol (setup, run, rss, threads, quit) is Scripts/bench/peer.py's. The models here mirror Swift's
SynRep ViT (timm layout, pre-norm, GELU, fused SDPA) so both sides do the same arithmetic.
"""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

from peer import serve


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)

    def forward(self, x):
        B, N, D = x.shape
        qkv = self.qkv(self.norm1(x)).reshape(B, N, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
        x = x + self.proj(a.transpose(1, 2).reshape(B, N, D))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class ViT(nn.Module):
    def __init__(self, image, patch, dim, depth, heads, classes):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, patch, patch)
        n = (image // patch) ** 2
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, n + 1, dim) * 0.02)
        self.blocks = nn.ModuleList([Block(dim, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        t = self.proj(x).flatten(2).transpose(1, 2)
        t = torch.cat([self.cls.expand(t.shape[0], -1, -1), t], 1) + self.pos
        for b in self.blocks:
            t = b(t)
        return self.head(self.norm(t)[:, 0])


def make(name):
    torch.manual_seed(0)
    if name.startswith("sgemm_"):
        m, k, n = (int(v) for v in name.split("_")[1].split("x"))
        a, b = torch.randn(m, k), torch.randn(k, n)
        return lambda: torch.mm(a, b)
    if name.startswith("conv3x3_"):
        # conv3x3_[grad_]NxCxHxW_O: F.conv2d with padding 1, forward only or forward + both gradients.
        n, c, h, w = (int(v) for v in name.rsplit("_", 2)[-2].split("x"))
        o = int(name.rsplit("_", 1)[1])
        x, wt = torch.randn(n, c, h, w), torch.randn(o, c, 3, 3) * 0.1
        b, probe = torch.randn(o), torch.randn(n, o, h, w)
        if "_grad_" not in name:
            def fwd():
                with torch.no_grad():
                    return F.conv2d(x, wt, b, padding=1)
            return fwd
        x.requires_grad_(True)
        wt.requires_grad_(True)
        b.requires_grad_(True)

        def step():
            x.grad = wt.grad = b.grad = None
            (F.conv2d(x, wt, b, padding=1) * probe).sum().backward()
        return step
    if name == "vit_s_block":
        blk = Block(384, 6)
        x = torch.randn(32, 197, 384, requires_grad=True)

        def step():
            blk.zero_grad(set_to_none=True)
            blk(x).sum().backward()
        return step
    if name == "vit_tiny_step":
        model = ViT(32, 4, 192, 12, 3, 10)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
        x = torch.randn(64, 3, 32, 32)
        y = torch.randint(0, 10, (64,))

        def step():
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            opt.step()
        return step
    if name == "minilm_encode_64":
        # transformers' BertModel + mean pooling + l2 normalization on the installed model folder.
        import os
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import AutoModel, AutoTokenizer
        home = os.environ.get("SYNCLR_HOME") or os.path.expanduser("~/.cache/synclr")
        path = os.path.join(home, "models", "all-minilm-l6-v2")
        tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
        bert = AutoModel.from_pretrained(path, local_files_only=True).eval()
        caps = captions(64)

        def encode():
            with torch.no_grad():
                enc = tok(caps, padding=True, truncation=True, max_length=256, return_tensors="pt")
                h = bert(**enc).last_hidden_state
                m = enc["attention_mask"].unsqueeze(-1).to(h.dtype)
                return F.normalize((h * m).sum(1) / m.sum(1).clamp(min=1e-9), dim=1)
        return encode
    if name.startswith("unet_"):
        return make_unet(name)
    raise SystemExit(f"unknown workload {name}")


def make_unet(name):
    """The built-in text-to-image UNet (Scripts/fixtures/unet_torch.py, same layout as SynDiffusion's)."""
    import os
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
    import unet_torch

    model = unet_torch.UNet2DCondition()

    def cond(batch, seed):
        g = torch.Generator().manual_seed(seed)
        tokens = torch.randn(batch, 16, 384, generator=g)
        mask = torch.ones(batch, 16)
        for b in range(batch):
            mask[b, 10 + b % 6:] = 0
        return tokens, mask, torch.randn(batch, 384, generator=g)

    if name == "unet_forward_b64":
        model.eval()
        x = torch.randn(64, 1, 32, 32)
        t = torch.arange(64).float() * 15
        tok, mask, pooled = cond(64, 12)

        def fwd():
            with torch.no_grad():
                model(x, t, tok, mask, pooled)
        return fwd
    if name == "unet_train_step_b64":
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
        x = torch.randn(64, 1, 32, 32)
        target = torch.randn(64, 1, 32, 32)
        t = torch.arange(64).float() * 15
        tok, mask, pooled = cond(64, 22)

        def step():
            opt.zero_grad(set_to_none=True)
            F.mse_loss(model(x, t, tok, mask, pooled), target).backward()
            opt.step()
        return step
    if name.startswith("unet_sample_ddim50_cfg2.5"):
        from diffusers import DDIMScheduler
        model.eval()
        images = int(name.rsplit("_x", 1)[1])
        sched = DDIMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2", prediction_type="v_prediction",
                              timestep_spacing="trailing", clip_sample=True, set_alpha_to_one=True)
        tok, mask, pooled = cond(images, 31)
        utok, umask, upooled = cond(images, 32)
        both = (torch.cat([utok, tok]), torch.cat([umask, mask]), torch.cat([upooled, pooled]))

        def run():
            with torch.no_grad():
                g = torch.Generator().manual_seed(33)
                x = torch.randn(images, 1, 32, 32, generator=g)
                sched.set_timesteps(50)
                for t in sched.timesteps:
                    out = model(torch.cat([x, x]), t.float().expand(2 * images), *both)
                    u, c = out.chunk(2)
                    x = sched.step(u + 2.5 * (c - u), t, x).prev_sample
        return run
    raise SystemExit(f"unknown workload {name}")


def captions(n):
    """Same list as benchCaptions in Sources/synclr-bench/TensorBenchmarks.swift."""
    things = ["dog", "red sports car", "bowl of ramen", "sunflower", "old lighthouse", "leather ankle boot",
              "striped shirt", "airliner"]
    places = ["on a beach at sunset", "in a snowy forest", "on a kitchen table", "next to a brick wall",
              "under a cloudy sky", "in a busy street", "on a white background", "in a field of grass"]
    return [f"a photo of a {things[i % len(things)]} {places[(i // len(things)) % len(places)]}" for i in range(n)]


def main():
    serve(make)


if __name__ == "__main__":
    main()

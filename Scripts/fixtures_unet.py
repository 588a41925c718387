#!/usr/bin/env python3
"""Writes the UNet parity fixtures of SynDiffusion (Tests/SynDiffusionTests/Fixtures/unet_*.safetensors).

Builds the blocks of the built-in text-to-image UNet with the PyTorch twin in Scripts/unet_torch.py
(same module tree and parameter names as the Swift code): a ResnetBlock2D, a Transformer2D with
self-attention and masked cross-attention, the sinusoidal timestep embedding + MLP, and a tiny
complete UNet2DCondition. Every parameter is redrawn from N(0, 0.3^2) (so zero-initialized
branches are exercised too), fixed inputs are pushed through, and the file stores
    param.<name>   the weights,
    input.<name>   the inputs,
    output         the forward result,
    probe          fixed weights w of the scalar loss sum(output * w),
    grad.<name>    d loss / d parameter, and grad.input.<name> for differentiable inputs.
Config values go to the safetensors metadata as JSON ("config").

Setup: pip install "torch==2.13.0+cpu"; run from the repository root:
    python Scripts/fixtures_unet.py
CI never runs this script; the fixtures it writes are committed.
"""
import json
import os
import sys

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import unet_torch as U  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "SynDiffusionTests", "Fixtures")


def randomize(module, gen):
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.3)


def write(name, module, inputs, forward, grad_inputs, config, gen):
    for k in grad_inputs:
        inputs[k].requires_grad_(True)
    out = forward(**inputs)
    probe = torch.randn(out.shape, generator=gen)
    (out * probe).sum().backward()
    tensors = {"output": out.detach().contiguous(), "probe": probe}
    for k, v in inputs.items():
        tensors["input." + k] = v.detach().float().contiguous()
    for k in grad_inputs:
        tensors["grad.input." + k] = inputs[k].grad.contiguous()
    if module is not None:
        for n, p in module.named_parameters():
            tensors["param." + n] = p.detach().contiguous()
            tensors["grad." + n] = p.grad.contiguous()
    path = os.path.join(OUT, f"unet_{name}.safetensors")
    save_file(tensors, path, metadata={"config": json.dumps(config, sort_keys=True)})
    print(f"wrote {path} ({len(tensors)} tensors)")


def mask_with_padding(batch, length, real):
    m = torch.zeros(batch, length)
    for b, n in enumerate(real):
        m[b, :n] = 1
    return m


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1234)

    # ResnetBlock2D 8 -> 16 channels (1x1 shortcut), embedding 12, 4 groups.
    rb = U.ResnetBlock2D(8, 16, 12, 4)
    randomize(rb, gen)
    write("resnet", rb, {"x": torch.randn(2, 8, 6, 6, generator=gen), "emb": torch.randn(2, 12, generator=gen)},
          lambda x, emb: rb(x, emb), ["x", "emb"], {"in": 8, "out": 16, "emb": 12, "groups": 4}, gen)

    # Transformer2D on 16 channels, 2 heads, context width 12, mask with padding on item 1.
    tr = U.Transformer2D(16, 2, 12, 4)
    randomize(tr, gen)
    write("transformer", tr,
          {"x": torch.randn(2, 16, 4, 4, generator=gen), "context": torch.randn(2, 5, 12, generator=gen),
           "mask": mask_with_padding(2, 5, [5, 3])},
          lambda x, context, mask: tr(x, context, mask), ["x", "context"],
          {"channels": 16, "heads": 2, "context": 12, "groups": 4}, gen)

    # Sinusoidal features (16) of varied timesteps through the timestep MLP (16 -> 24).
    te = U.TimestepEmbedding(16, 24)
    randomize(te, gen)
    write("timestep", te, {"t": torch.tensor([0.0, 1.0, 17.0, 500.0, 999.0])},
          lambda t: te(U.timestep_embedding(t, 16)), [], {"features": 16, "width": 24}, gen)
    feats = U.timestep_embedding(torch.tensor([0.0, 1.0, 17.0, 500.0, 999.0]), 16)
    save_file({"t": torch.tensor([0.0, 1.0, 17.0, 500.0, 999.0]), "features": feats},
              os.path.join(OUT, "unet_timestep_features.safetensors"))

    # A tiny complete UNet: two levels (8, 16), attention on the coarse level, pooled projection.
    cfg = dict(sample_size=8, channels=1, block_out_channels=[8, 16], layers_per_block=1,
               attention_levels=[False, True], attention_head_dim=8, cross_attention_dim=12,
               norm_groups=4, timestep_channels=16, time_embed_dim=32, pooled_projection=True)
    net = U.UNet2DCondition(cfg)
    randomize(net, gen)
    write("full", net,
          {"x": torch.randn(2, 1, 8, 8, generator=gen), "t": torch.tensor([3.0, 640.0]),
           "tokens": torch.randn(2, 4, 12, generator=gen), "mask": mask_with_padding(2, 4, [4, 2]),
           "pooled": torch.randn(2, 12, generator=gen)},
          lambda x, t, tokens, mask, pooled: net(x, t, tokens, mask, pooled), ["x"], cfg, gen)


if __name__ == "__main__":
    main()

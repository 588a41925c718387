#!/usr/bin/env python3
"""PyTorch side of `synclr-bench --sd`: one guided Stable Diffusion 1.5-shaped UNet step in diffusers.

Builds UNet2DConditionModel with SD 1.5's configuration and random weights (nothing is downloaded),
then times `repeats` guided DDIM steps (batch 2: unconditional + conditional, 77 text tokens of width
768, guidance 2.5) on size/8 x size/8 latents. Peak memory is the process's peak resident set
(VmHWM) over the steps, reset with /proc/self/clear_refs after the model is built. Prints one JSON
line: {"seconds": [...], "peak_rss_mb": ..., "params": ...}.

Usage: python3 Scripts/bench/bench_sd_torch.py --size 512 --repeats 3 --threads 2
"""
import argparse
import json
import time

import torch
from diffusers import DDIMScheduler, UNet2DConditionModel

from peer import peak_rss_mb, reset_peak_rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    unet = UNet2DConditionModel(sample_size=64, cross_attention_dim=768, attention_head_dim=8,
                                block_out_channels=(320, 640, 1280, 1280), layers_per_block=2).eval()
    sched = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                          set_alpha_to_one=False, steps_offset=1)
    sched.set_timesteps(50)
    h = a.size // 8
    x = torch.randn(1, 4, h, h)
    text = torch.randn(2, 77, 768)
    t = sched.timesteps[0]
    reset_peak_rss()
    times = []
    with torch.no_grad():
        for _ in range(a.repeats):
            start = time.perf_counter()
            out = unet(torch.cat([x, x]), t, encoder_hidden_states=text).sample
            u, c = out.chunk(2)
            sched._step_index = None
            _ = sched.step(u + 2.5 * (c - u), t, x).prev_sample
            times.append(time.perf_counter() - start)
    print(json.dumps({"seconds": times, "peak_rss_mb": peak_rss_mb(), "params": sum(p.numel() for p in unet.parameters())}))


if __name__ == "__main__":
    main()

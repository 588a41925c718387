#!/usr/bin/env python3
"""Projected data-parallel scaling of `synclr train` (Docs/scaling.md) from measured inputs.

Weak scaling: every machine keeps the measured per-machine batch, so M machines train a global
batch M times larger at step time  t(M) = t_compute + t_comm(M), with no overlap of
communication and compute (the gradient all-reduce runs after the backward pass). Per step:
  - gradient all-reduce of S bytes (ring): 2 (M-1)/M * S / bandwidth + 2 (M-1) * latency
  - key all-gather: (M-1)/M * G bytes, G = global batch * embedding bytes, plus for
    StableRep/SimCLR the all-reduce of the gathered gradient, 2 (M-1)/M * G (counted here)
  - Sinkhorn: iterations * M * K floats gathered (+ totals), and the loss/flag sums
Usage: project_scaling.py STEP_SECONDS IMAGES_PER_STEP PARAMS [LATENCY_US] [--speedup X]
"""
import sys

args = [a for a in sys.argv[1:] if not a.startswith("--")]
speedup = float(sys.argv[sys.argv.index("--speedup") + 1]) if "--speedup" in sys.argv else 1.0
if "--speedup" in sys.argv:
    args.remove(sys.argv[sys.argv.index("--speedup") + 1])
step, images, params = float(args[0]) / speedup, int(args[1]), int(args[2])
latency = float(args[3]) * 1e-6 if len(args) > 3 else 50e-6
embed_dim, prototypes, sinkhorn_iters = 256, 1024, 3
grad_bytes = 4 * (params + 1000)  # + per-parameter flags and loss terms (a few hundred floats)

print(f"compute {step:.3f} s/step for {images} images per machine, gradient {grad_bytes / 1e6:.1f} MB, latency {latency * 1e6:.0f} us")
print("| machines | link | comm / step | step | images/s | efficiency |")
print("|---:|---|---:|---:|---:|---:|")
for machines in (8, 64):
    for gbit in (1, 10, 25):
        bw = gbit * 1e9 / 8
        f = (machines - 1) / machines
        allreduce = 2 * f * grad_bytes / bw + 2 * (machines - 1) * latency
        keys = machines * images * embed_dim * 4  # G: the gathered embeddings of the global batch
        # The gather, plus (StableRep/SimCLR) the all-reduce of its gradient in the backward pass;
        # SynCLR's teacher keys need only the gather, so this is the costlier case.
        gather = f * keys / bw + (machines - 1) * latency + 2 * f * keys / bw + 2 * (machines - 1) * latency
        sinkhorn = sinkhorn_iters * (f * machines * prototypes * 4 / bw + (machines - 1) * latency)
        comm = allreduce + gather + sinkhorn
        t = step + comm
        print(f"| {machines} | {gbit} Gbit/s | {comm * 1e3:.0f} ms | {t:.2f} s | {machines * images / t:.0f} | {step / t * 100:.0f}% |")

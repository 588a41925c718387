#!/usr/bin/env python3
"""Random ggml blocks of every format the GGUF reader dequantizes, with gguf-py's dequantized
values (gguf-py is what transformers uses to load GGUF files), for bit-exact tests.

Writes Tests/SynTensorTests/Fixtures/gguf_blocks.json: {type: {"hex": block bytes, "bits": float32
bit patterns}}. The f16 scale fields are set to finite values; everything else is random.
Usage: python3 Scripts/fixtures_gguf.py   (pip install gguf numpy)
"""
import json
import os

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.constants import GGML_QUANT_SIZES
from gguf.quants import dequantize

rng = np.random.default_rng(1234)


def half_bytes(values):
    return np.asarray(values, dtype=np.float16).view(np.uint8)


def blocks(qtype, n):
    bs, nbytes = GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(n, nbytes), dtype=np.uint8)
    scales = lambda k: half_bytes(rng.uniform(-2, 2, size=(n, k)).astype(np.float32))
    if qtype in (T.Q4_0, T.Q5_0, T.Q8_0):
        raw[:, 0:2] = scales(1)
    elif qtype in (T.Q4_1, T.Q5_1, T.Q4_K, T.Q5_K):
        raw[:, 0:4] = scales(2)
    elif qtype == T.Q6_K:
        raw[:, nbytes - 2:] = scales(1)
    elif qtype == T.F16:
        raw = half_bytes(rng.normal(size=(n, 1)).astype(np.float32)).reshape(n, 2)
    elif qtype == T.BF16:
        f = rng.normal(size=(n,)).astype(np.float32).view(np.uint32) >> 16
        raw = f.astype(np.uint16).view(np.uint8).reshape(n, 2)
    elif qtype == T.F32:
        raw = rng.normal(size=(n,)).astype(np.float32).view(np.uint8).reshape(n, 4)
    return raw.reshape(-1), bs


out = {}
for name in ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K"]:
    qtype = T[name]
    bs = GGML_QUANT_SIZES[qtype][0]
    n = 4 if bs > 1 else 64
    raw, bs = blocks(qtype, n)
    values = dequantize(raw, qtype).astype(np.float32).reshape(-1)
    out[name] = {"hex": raw.tobytes().hex(), "count": int(values.size),
                 "bits": [int(b) for b in values.view(np.uint32)]}
path = os.path.join(os.path.dirname(__file__), "..", "Tests/SynTensorTests/Fixtures/gguf_blocks.json")
with open(path, "w") as f:
    json.dump(out, f, separators=(",", ":"))
    f.write("\n")
print("wrote", path)

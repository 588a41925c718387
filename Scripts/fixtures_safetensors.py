#!/usr/bin/env python3
"""Writes the safetensors fixtures of Tests/SynTensorTests/Fixtures (committed; CI never runs this).

Setup: pip install torch==2.13.0+cpu safetensors numpy
Run:   python3 Scripts/fixtures_safetensors.py

Files:
- safetensors_dtypes.safetensors: one tensor per dtype (F32, F16, BF16, F64, F8_E4M3, F8_E5M2,
  I64, I32, I16, I8, U8, BOOL) named after the dtype, each with `<name>_expected`, the same
  values as F32 computed by torch (`t.float()`), plus multi-key `__metadata__`.
- safetensors_identity_source.safetensors: F32 source values of the identity fixture.
- safetensors_identity.safetensors: the source values stored as F32/F16/BF16/F64 by
  `save_file` with one metadata key; the Swift writer must reproduce it byte for byte.
- safetensors_identity_nometa.safetensors: a few F32 tensors, odd names, no metadata.
- safetensors_identity_empty.safetensors: no tensors, no metadata.
"""
import os

import torch
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "SynTensorTests", "Fixtures")


def values(n, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, generator=g) * 3


# Float32 values that exercise rounding to F16 and BF16: ties to even, subnormals, overflow,
# signed zero, infinities and NaN.
EDGE = torch.tensor(
    [
        0.0, -0.0, 1.0, -2.5, 65504.0, 65520.0, 65519.0, 1e-8, 6e-8, 3e-8, 6.1e-5, -6.1e-5,
        1.0 + 2.0 ** -11, 1.0 + 3 * 2.0 ** -11, 1.0 + 2.0 ** -8, 1.0 + 3 * 2.0 ** -8,
        3.4e38, -3.4e38, 1e-40, float("inf"), float("-inf"), float("nan"), 0.1, 1.0 / 3.0,
    ],
    dtype=torch.float32,
)


def dtypes_fixture():
    base = torch.cat([EDGE, values(40, 1)]).reshape(8, 8)
    small = torch.tensor([0.0, 0.5, -1.75, 448.0, -448.0, 0.015625, 2.0 ** -9, 300.0, float("nan"), 17.0])
    f8_e5 = torch.tensor([0.0, 0.5, -1.75, 57344.0, -0.0001, 2.0 ** -16, float("inf"), float("nan"), 3.0, 100.0])
    t = {
        "F32": base.clone(),
        "F16": base.half(),
        "BF16": base.bfloat16(),
        "F64": torch.cat([EDGE.double(), values(40, 2).double() * 1e-3 + 1.0 / 7.0]).reshape(2, 4, 8),
        "F8_E4M3": small.to(torch.float8_e4m3fn),
        "F8_E5M2": f8_e5.to(torch.float8_e5m2),
        "I64": torch.tensor([[0, -1, 9, 2**40], [7, -(2**40), 123456789, 3]], dtype=torch.int64),
        "I32": torch.tensor([0, -1, 2**31 - 1, -(2**31)], dtype=torch.int32),
        "I16": torch.tensor([0, -1, 32767, -32768], dtype=torch.int16),
        "I8": torch.tensor([0, -1, 127, -128], dtype=torch.int8),
        "U8": torch.arange(0, 256, 37, dtype=torch.uint8),
        "BOOL": torch.tensor([True, False, True]),
        "SCALAR": torch.tensor(2.5),
        "EMPTY": torch.zeros(0, 3),
    }
    for name in list(t):
        t[name + "_expected"] = t[name].float().clone()
    meta = {"format": "pt", "producer": "Scripts/fixtures_safetensors.py", "note": "\u00e9t\u00e9 \"quoted\"\n"}
    save_file(t, os.path.join(OUT, "safetensors_dtypes.safetensors"), metadata=meta)


def identity_fixture():
    src = {
        "blocks.0.attn.qkv.weight": values(48, 3).reshape(12, 4),
        "blocks.0.attn.qkv.bias": values(12, 4),
        "norm.weight": EDGE.clone(),
        "head.bias": values(5, 5),
        "scalar": torch.tensor(0.25),
        "empty": torch.zeros(2, 0),
        "z_half": torch.cat([EDGE, values(8, 6)]).reshape(4, 8),
        "a_bf16": torch.cat([EDGE, values(8, 7)]).reshape(2, 16),
        "m_double": values(6, 8).reshape(2, 3),
    }
    save_file(src, os.path.join(OUT, "safetensors_identity_source.safetensors"))
    out = dict(src)
    out["z_half"] = src["z_half"].half()
    out["norm.weight"] = src["norm.weight"].half()
    out["a_bf16"] = src["a_bf16"].bfloat16()
    out["head.bias"] = src["head.bias"].bfloat16()
    out["m_double"] = src["m_double"].double()
    save_file(out, os.path.join(OUT, "safetensors_identity.safetensors"), metadata={"format": "pt"})

    odd = {
        "w\u00e9ird/name \"quoted\"\\": values(3, 9),
        "tab\tnew\nline\u0001": values(2, 10),
        "\u65e5\u672c": values(4, 11).reshape(2, 2),
        "B": values(1, 12),
        "a": values(1, 13),
    }
    save_file(odd, os.path.join(OUT, "safetensors_identity_nometa.safetensors"))
    save_file({}, os.path.join(OUT, "safetensors_identity_empty.safetensors"))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    dtypes_fixture()
    identity_fixture()
    for f in sorted(os.listdir(OUT)):
        print(f, os.path.getsize(os.path.join(OUT, f)))

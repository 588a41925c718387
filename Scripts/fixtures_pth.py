#!/usr/bin/env python3
"""Writes the `.pth` fixtures for Tests/SynTensorTests/TorchCheckpointTests.swift.

Run with torch 2.13.0+cpu from the repository root:

    python3 Scripts/fixtures_pth.py

Setup:  pip install torch==2.13.0+cpu safetensors
Output: Tests/SynTensorTests/Fixtures/pth/*.pth plus expected.safetensors, all small (< 30 KB).

Well-formed checkpoints come from `torch.save` itself (default protocol 2, and protocol 4);
a few are re-packed archives (deflate, ZIP64, big-endian byteorder, flipped byte); the
malicious and malformed ones are hand-assembled pickles inside hand-built zip archives.
expected.safetensors stores every expected tensor as contiguous F32 (`t.float()`, the same
conversion the loader does), named `timm/<key>` and `dtypes/<key>`, compared bit for bit.

The malicious fixtures are proven malicious: a subprocess loads each with
`torch.load(weights_only=False)` and the script checks the marker file appeared (then removes
it). The Swift test asserts its loader throws and the marker never appears.
"""
import argparse
import collections
import io
import os
import struct
import subprocess
import sys
import zipfile
import zlib

import torch
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "SynTensorTests", "Fixtures", "pth")
MARKERS = {
    "evil_os_system.pth": "/tmp/synclr_pth_pwned_system",
    "evil_builtins_eval.pth": "/tmp/synclr_pth_pwned_eval",
    "evil_inst.pth": "/tmp/synclr_pth_pwned_inst",
}


def path(name):
    return os.path.join(OUT, name)


def as_f32(t):
    """`t` converted the way the loader converts: float32, dense, its own storage."""
    return t.detach().to(torch.float32).contiguous().clone()


class TinyViT(torch.nn.Module):
    """The timm ViT layout at toy size: image 4x4, patch 2, 3 channels, width 8, depth 1, MLP 16."""

    def __init__(self, d=8, hidden=16, tokens=5):
        super().__init__()
        nn = torch.nn
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed = nn.Parameter(torch.zeros(1, tokens, d))
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(3, d, 2, 2)
        block = nn.Module()
        block.norm1 = nn.LayerNorm(d, eps=1e-6)
        block.attn = nn.Module()
        block.attn.qkv = nn.Linear(d, 3 * d)
        block.attn.proj = nn.Linear(d, d)
        block.norm2 = nn.LayerNorm(d, eps=1e-6)
        block.mlp = nn.Module()
        block.mlp.fc1 = nn.Linear(d, hidden)
        block.mlp.fc2 = nn.Linear(hidden, d)
        self.blocks = nn.ModuleList([block])
        self.norm = nn.LayerNorm(d, eps=1e-6)


def module_state_dict(sd, wrap=()):
    """`sd` loaded into a real TinyViT (nested under attribute names `wrap`, e.g. DDP's
    `module` and CLIP's `visual`) and read back with `state_dict()`, which (unlike a plain
    OrderedDict) carries a `_metadata` attribute that pickles as BUILD on the dict."""
    model = TinyViT()
    model.load_state_dict(sd)
    for name in reversed(wrap):
        outer = torch.nn.Module()
        setattr(outer, name, model)
        model = outer
    out = model.state_dict()
    assert hasattr(out, "_metadata")
    return out


def tiny_vit():
    """A timm-named ViT state dict (TinyViT's keys) with seeded random values."""
    g = torch.Generator().manual_seed(0)
    d, hidden, tokens = 8, 16, 5

    def r(*shape):
        return torch.randn(*shape, generator=g)

    sd = collections.OrderedDict()
    sd["cls_token"] = r(1, 1, d)
    sd["pos_embed"] = r(1, tokens, d)
    sd["patch_embed.proj.weight"] = r(d, 3, 2, 2)
    sd["patch_embed.proj.bias"] = r(d)
    sd["blocks.0.norm1.weight"] = 1 + 0.1 * r(d)
    sd["blocks.0.norm1.bias"] = r(d)
    sd["blocks.0.attn.qkv.weight"] = r(3 * d, d)
    sd["blocks.0.attn.qkv.bias"] = r(3 * d)
    sd["blocks.0.attn.proj.weight"] = r(d, d)
    sd["blocks.0.attn.proj.bias"] = r(d)
    sd["blocks.0.norm2.weight"] = 1 + 0.1 * r(d)
    sd["blocks.0.norm2.bias"] = r(d)
    sd["blocks.0.mlp.fc1.weight"] = r(hidden, d)
    sd["blocks.0.mlp.fc1.bias"] = r(hidden)
    sd["blocks.0.mlp.fc2.weight"] = r(d, hidden)
    sd["blocks.0.mlp.fc2.bias"] = r(d)
    sd["norm.weight"] = 1 + 0.1 * r(d)
    sd["norm.bias"] = r(d)
    return sd


def dtype_dict():
    """Every accepted storage dtype, views (transpose, narrow, expand, shared storage), specials."""
    special = torch.tensor([0.0, -0.0, 1.5, -2.25, float("inf"), float("-inf"), float("nan"), 1e-30])
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 8
    qkv = torch.arange(24, dtype=torch.float32).reshape(6, 4)
    tagged = torch.tensor([7.0, 8.0])
    tagged.note = "python attribute -> _rebuild_from_type_v2"
    sd = collections.OrderedDict()
    sd["f64"] = (torch.arange(6, dtype=torch.float64).reshape(2, 3) / 3 + 1e-9)
    sd["f64_special"] = special.double()
    sd["f16"] = torch.tensor([1.0, -0.5, 65504.0, 6e-8, 1e-4, 3.14159], dtype=torch.float16)
    sd["f16_special"] = special.half()
    sd["bf16"] = torch.tensor([1.0, -3.0, 1e30, 0.1, 2.5e-3], dtype=torch.bfloat16)
    sd["bf16_special"] = special.bfloat16()
    sd["f32_special"] = special
    sd["i64"] = torch.tensor([-3, 0, 5, 2**40], dtype=torch.int64)
    sd["i32"] = torch.tensor([-7, 9], dtype=torch.int32)
    sd["i16"] = torch.tensor([-300, 300], dtype=torch.int16)
    sd["i8"] = torch.tensor([-128, 127], dtype=torch.int8)
    sd["u8"] = torch.tensor([0, 200, 255], dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True])
    sd["transposed"] = base.t()                      # strides (1, 4): non-contiguous
    sd["narrowed"] = base[1:, 1:3]                   # storage offset 5, strides (4, 1)
    sd["expanded"] = torch.tensor([1.0, 2.0]).expand(3, 2)   # stride 0
    sd["transposed_f64"] = base.double().t()
    sd["q"], sd["k"], sd["v"] = qkv.chunk(3, dim=0)  # three views of one storage
    sd["scalar"] = torch.tensor(2.5)
    sd["empty"] = torch.zeros(0, 3)
    sd["param"] = torch.nn.Parameter(torch.tensor([[0.25, -0.75]]))
    sd["tagged"] = tagged
    return sd


def save(obj, name, **kw):
    torch.save(obj, path(name), **kw)


def save_as_archive(obj, name):
    """torch.save through a buffer, so the archive folder inside the zip is 'archive'."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    with open(path(name), "wb") as f:
        f.write(buf.getvalue())


# ---- zip helpers -------------------------------------------------------------------------

def read_entries(name):
    with zipfile.ZipFile(path(name)) as z:
        return [(i.filename, z.read(i.filename)) for i in z.infolist()]


def write_zip(name, entries, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path(name), "w") as z:
        for n, data in entries:
            info = zipfile.ZipInfo(n, date_time=(2024, 1, 1, 0, 0, 0))  # fixed, so reruns are stable
            info.compress_type = compression
            z.writestr(info, data)


def write_zip64(name, entries):
    """A stored zip whose sizes and offsets all live in ZIP64 extra fields (0xFFFFFFFF markers)."""
    out = bytearray()
    central = bytearray()
    for n, data in entries:
        nb = n.encode()
        crc = zlib.crc32(data) & 0xFFFFFFFF
        offset = len(out)
        extra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, crc, 0xFFFFFFFF, 0xFFFFFFFF, len(nb), len(extra))
        out += nb + extra + data
        cextra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, crc,
                               0xFFFFFFFF, 0xFFFFFFFF, len(nb), len(cextra), 0, 0, 0, 0, 0xFFFFFFFF)
        central += nb + cextra
    cd_offset = len(out)
    out += central
    eocd64 = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(entries), len(entries), len(central), cd_offset)
    out += struct.pack("<IIQI", 0x07064B50, 0, eocd64, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(path(name), "wb") as f:
        f.write(out)


# ---- hand-assembled pickles ----------------------------------------------------------------

def u(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def tensor_pickle(key, numel, size, stride, offset=0, storage="FloatStorage"):
    """Opcodes of `torch._utils._rebuild_tensor_v2` on storage record `key` (protocol 2 style)."""
    def ints(xs):
        return b"(" + b"".join(b"J" + struct.pack("<i", x) for x in xs) + b"t"
    return (b"ctorch._utils\n_rebuild_tensor_v2\n("
            + b"(" + u("storage") + b"ctorch\n" + storage.encode() + b"\n" + u(key) + u("cpu")
            + b"J" + struct.pack("<i", numel) + b"tQ"
            + b"J" + struct.pack("<i", offset) + ints(size) + ints(stride)
            + b"\x89ccollections\nOrderedDict\n)R" + b"tR")


FOUR_FLOATS = struct.pack("<4f", 1.0, 2.0, 3.0, 4.0)


def evil_archive(name, pkl, storages=(("0", FOUR_FLOATS),)):
    entries = [("archive/data.pkl", pkl), ("archive/byteorder", b"little")]
    entries += [("archive/data/" + k, v) for k, v in storages]
    entries += [("archive/version", b"3\n")]
    write_zip(name, entries)


def write_malicious():
    good = u("cls_token") + tensor_pickle("0", 4, [1, 1, 4], [4, 4, 1])
    # os.system via GLOBAL + REDUCE, after one legitimate tensor (pickle calls posix.system on Linux).
    evil_archive("evil_os_system.pth",
                 b"\x80\x02}(" + good + u("payload") + b"cposix\nsystem\n("
                 + u("touch " + MARKERS["evil_os_system.pth"]) + b"tRu.")
    # builtins.eval via protocol-4 STACK_GLOBAL + REDUCE.
    code = "__import__('pathlib').Path('%s').touch()" % MARKERS["evil_builtins_eval.pth"]
    cb = code.encode()
    body = (b"}\x94(" + good + u("payload") + b"\x8c\x08builtins\x94\x8c\x04eval\x94\x93\x94"
            + b"\x8c" + bytes([len(cb)]) + cb + b"\x85Ru.")
    evil_archive("evil_builtins_eval.pth", b"\x80\x04\x95" + struct.pack("<Q", len(body)) + body)
    # INST (protocol 0 class call) of os.system: an opcode torch.save never writes.
    evil_archive("evil_inst.pth",
                 b"\x80\x02}(" + good + u("payload") + b"(" + u("touch " + MARKERS["evil_inst.pth"])
                 + b"ios\nsystem\nu.")
    # A byte that is no pickle opcode at all.
    evil_archive("unknown_opcode.pth", b"\x80\x02}(" + good + u("x") + b"\xeeu.")
    # A global torch.save never writes, but harmless-looking (still rejected).
    evil_archive("forbidden_torch_global.pth",
                 b"\x80\x02}(" + good + u("x") + b"ctorch\nload\n(" + u("other.pth") + b"tRu.")
    # A view that reads past the end of its 4-element storage.
    evil_archive("out_of_bounds_view.pth",
                 b"\x80\x02}(" + u("w") + tensor_pickle("0", 4, [3, 2], [2, 1]) + b"u.")
    # The pickle declares 8 elements but the record holds 4.
    evil_archive("short_storage.pth",
                 b"\x80\x02}(" + u("w") + tensor_pickle("0", 8, [8], [1]) + b"u.")
    # Pickle ends without STOP.
    evil_archive("no_stop.pth", b"\x80\x02}(" + good)


def prove_malicious():
    for name, marker in MARKERS.items():
        if os.path.exists(marker):
            os.remove(marker)
        code = "import torch,sys; torch.load(sys.argv[1], weights_only=False)"
        subprocess.run([sys.executable, "-c", code, path(name)], capture_output=True)
        if not os.path.exists(marker):
            sys.exit("fixture %s did not execute its payload under torch.load" % name)
        os.remove(marker)
        try:
            torch.load(path(name), weights_only=True)
            sys.exit("torch.load(weights_only=True) accepted %s" % name)
        except Exception:
            pass


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    sd = tiny_vit()
    dt = dtype_dict()
    expected = {"timm/" + k: as_f32(v) for k, v in sd.items()}
    expected.update({"dtypes/" + k: as_f32(v) for k, v in dt.items()})

    save(module_state_dict(sd), "timm_plain.pth")                         # (a) folder 'timm_plain'
    save_as_archive({"model": module_state_dict(sd)}, "timm_model.pth")   # (b) folder 'archive'
    save({"state_dict": module_state_dict(sd, wrap=("module", "visual")),
          "epoch": 7}, "timm_state_dict_module_visual.pth")             # (c)
    save(dt, "dtypes.pth")                                                # (d)
    ns = argparse.Namespace(lr=1.5e-3, model="vit_tiny", epochs=100, drop_path=0.1, use_ema=True,
                            crop_scale=(0.32, 1.0), gpus=[0, 1], resume=None, tag=b"\x00\xffraw")
    # An MAE/DINO-style training checkpoint: model, real AdamW state (one step on the final
    # norm), loss-scaler state, epoch, argparse Namespace and assorted scalars.
    model = TinyViT()
    model.load_state_dict(sd)
    opt = torch.optim.AdamW(model.norm.parameters(), lr=0.5, betas=(0.9, 0.95))
    model.norm(torch.ones(1, 8)).sum().backward()
    opt.step()
    model.load_state_dict(sd)  # keep the expected values
    meta = collections.OrderedDict()
    meta["model"] = model.state_dict()
    meta["optimizer"] = opt.state_dict()
    meta["scaler"] = torch.amp.GradScaler("cpu").state_dict()
    meta["epoch"] = 3
    meta["args"] = ns
    meta["nothing"] = None
    meta["best_acc"] = 71.25
    meta["big"] = 2**70
    save(meta, "with_metadata.pth")                                       # (e)
    save(module_state_dict(sd), "timm_protocol4.pth", pickle_protocol=4)
    save({"teacher": {"backbone": sd, "head": {"last_layer.weight": torch.ones(2, 2)}}, "epoch": 1},
         "nested_teacher.pth")

    plain = read_entries("timm_plain.pth")
    write_zip("timm_deflated.pth", plain, zipfile.ZIP_DEFLATED)
    write_zip64("timm_zip64.pth", plain)
    write_zip("bigendian.pth", [(n, b"big" if n.endswith("/byteorder") else d) for n, d in plain])
    write_zip("missing_storage.pth", [(n, d) for n, d in plain if not n.endswith("/data/0")])
    # Flip one bit of storage record 1 in place, so its recorded CRC-32 no longer matches.
    raw = bytearray(whole := open(path("timm_plain.pth"), "rb").read())
    original = [d for n, d in plain if n.endswith("/data/1")][0]
    raw[raw.find(original)] ^= 0x01
    open(path("crc_mismatch.pth"), "wb").write(bytes(raw))
    open(path("truncated.pth"), "wb").write(whole[: len(whole) * 6 // 10])
    torch.save(sd, path("legacy_format.pth"), _use_new_zipfile_serialization=False)
    with open(path("not_a_checkpoint.pth"), "wb") as f:
        f.write(b"this is a text file, not a checkpoint\n")

    write_malicious()
    prove_malicious()

    save_file(expected, path("expected.safetensors"))
    for f in sorted(os.listdir(OUT)):
        size = os.path.getsize(os.path.join(OUT, f))
        assert size < 30_000, f
        print("%-40s %6d bytes" % (f, size))


if __name__ == "__main__":
    main()

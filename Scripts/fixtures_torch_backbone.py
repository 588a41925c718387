#!/usr/bin/env python3
"""Writes the PyTorch-checkpoint backbone fixtures for Tests/SynRepTests/TorchBackboneTests.swift
and Tests/SynCLRCLITests/TorchCheckpointCLITests.swift.

Run with torch 2.13.0+cpu and timm from the repository root:

    python3 Scripts/fixtures_torch_backbone.py

Setup:  pip install torch==2.13.0+cpu safetensors && pip install --no-deps timm
Output: Tests/SynRepTests/Fixtures/torch_backbone/ (about 1 MB in all).

The model is timm's own `VisionTransformer` at toy size (28 px grayscale inputs as Fashion-MNIST,
7 px patches, width 64, depth 2, one 64-dim head, MLP ratio 2, a 10-class head), with seeded
weights scaled so that its features vary. Files:

- `vit.pth`: `torch.save(model.state_dict())`, the plain timm layout (with the classifier head,
  which a backbone load leaves unused).
- `vit.safetensors`: the same backbone in this project's format (what `synclr train` writes: F32
  tensors under timm names, a `synclr` metadata entry with the model card; normalization mean 0.5,
  std 0.5, the SynRep default for non-RGB inputs that the `.pth` loader also assumes).
- `synclr_release.pth`: the layout of the paper's released SynCLR checkpoints as read by the
  official linear-probe code: `{'model': {'module.visual.<timm key>': ...}}`, same weights.
- `synclr_train.pth`: the layout of a SynCLR training checkpoint, assumed from the paper's
  meta-architecture (a `student` and an EMA `teacher`, each with a `backbone` ViT carrying an
  iBOT `mask_token` and a `proj` head, wrapped by DistributedDataParallel as `module.`), saved
  as `{'model': state_dict, 'epoch': 3, 'args': Namespace(...)}` in float16 to keep it small.
  Student and teacher have different weights.
- `broken_missing.pth`, `broken_shape.pth`, `broken_layerscale.pth`: a toy timm ViT (8 px, patch
  4, width 8, depth 1, 2 heads) without `norm.weight`, with `blocks.0.mlp.fc2.weight` transposed,
  and with a layer-scale `blocks.0.ls1.gamma` (a variant SynRep's ViT lacks), for the errors.
- `expected.safetensors`: `inputs` [4, 1, 28, 28] (already normalized) and timm's CLS features
  (`forward_features(x)[:, 0]`, final LayerNorm) for the plain model (`features`) and for the
  float16 student and teacher of the training checkpoint (`teacher`, `student`), computed by timm
  in float32 from the float16 weights.
"""
import argparse
import collections
import json
import os
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fixtures_synrep import import_timm  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "Tests" / "SynRepTests" / "Fixtures" / "torch_backbone"
ARCH = dict(img_size=28, patch_size=7, in_chans=1, embed_dim=64, depth=2, num_heads=1, mlp_ratio=2.0, qkv_bias=True)
CARD = {"image_size": 28, "channels": 1, "patch_size": 7, "width": 64, "depth": 2, "heads": 1, "mlp_ratio": 2,
        "mean": [0.5], "std": [0.5], "objective": "timm"}


def vit(seed, num_classes):
    """timm's VisionTransformer with seeded weights large enough to give varied features."""
    from timm.models.vision_transformer import VisionTransformer
    model = VisionTransformer(num_classes=num_classes, **ARCH)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            if name.endswith("norm1.weight") or name.endswith("norm2.weight") or name == "norm.weight":
                p.copy_(1 + 0.1 * noise)
            elif p.dim() == 1:
                p.copy_(0.1 * noise)
            elif name in ("cls_token", "pos_embed"):
                p.copy_(0.5 * noise)
            else:
                fan_in = p[0].numel()
                p.copy_(noise / fan_in ** 0.5)
    return model.eval()


def cls_features(model, x):
    with torch.no_grad():
        return model.forward_features(x)[:, 0].contiguous()


class Branch(torch.nn.Module):
    """One side of SynCLR's meta-architecture: a ViT `backbone` (with iBOT's mask token) and a `proj` head."""

    def __init__(self, backbone, seed):
        super().__init__()
        self.backbone = backbone
        self.backbone.mask_token = torch.nn.Parameter(0.02 * torch.randn(1, 1, 64, generator=torch.Generator().manual_seed(seed)))
        self.proj = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.GELU(), torch.nn.Linear(32, 16))


class MetaArch(torch.nn.Module):
    def __init__(self, student, teacher):
        super().__init__()
        self.student = student
        self.teacher = teacher


class DDP(torch.nn.Module):
    """Stands in for DistributedDataParallel, whose state_dict prefixes every key with `module.`."""

    def __init__(self, module):
        super().__init__()
        self.module = module


def main():
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    if import_timm() is None:
        sys.exit("timm is not importable: pip install --no-deps timm")
    OUT.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)

    model = vit(seed=1, num_classes=10)
    state = model.state_dict()
    torch.save(state, OUT / "vit.pth")

    backbone = {k: v.contiguous() for k, v in state.items() if not k.startswith("head.")}
    save_file(backbone, str(OUT / "vit.safetensors"),
              metadata={"synclr": json.dumps(CARD, sort_keys=True, separators=(",", ":")), "format": "pt"})

    release = collections.OrderedDict((f"module.visual.{k}", v) for k, v in backbone.items())
    torch.save({"model": release}, OUT / "synclr_release.pth")

    student = Branch(vit(seed=2, num_classes=0), seed=3)
    teacher = Branch(vit(seed=4, num_classes=0), seed=5)
    wrapped = DDP(MetaArch(student, teacher)).half()
    args = argparse.Namespace(model="tiny", patch_size=7, mask_style="ibot", epochs=3)
    torch.save({"model": wrapped.state_dict(), "epoch": 3, "args": args}, OUT / "synclr_train.pth")

    from timm.models.vision_transformer import VisionTransformer
    toy = VisionTransformer(img_size=8, patch_size=4, in_chans=1, embed_dim=8, depth=1, num_heads=2, mlp_ratio=2.0,
                            num_classes=0).state_dict()
    torch.save({k: v for k, v in toy.items() if k != "norm.weight"}, OUT / "broken_missing.pth")
    torch.save({k: (v.t().contiguous() if k == "blocks.0.mlp.fc2.weight" else v) for k, v in toy.items()}, OUT / "broken_shape.pth")
    torch.save({**toy, "blocks.0.ls1.gamma": torch.ones(8)}, OUT / "broken_layerscale.pth")

    x = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(6))
    x = (x - 0.5) / 0.5
    student_f32, teacher_f32 = vit(seed=0, num_classes=0), vit(seed=0, num_classes=0)
    student_f32.load_state_dict({k: v.float() for k, v in student.backbone.state_dict().items() if k != "mask_token"})
    teacher_f32.load_state_dict({k: v.float() for k, v in teacher.backbone.state_dict().items() if k != "mask_token"})
    save_file({"inputs": x.contiguous(), "features": cls_features(model, x),
               "teacher": cls_features(teacher_f32, x), "student": cls_features(student_f32, x)},
              str(OUT / "expected.safetensors"))
    for f in sorted(OUT.iterdir()):
        print(f"{f.name}: {f.stat().st_size} bytes")


if __name__ == "__main__":
    main()

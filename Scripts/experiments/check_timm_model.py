#!/usr/bin/env python3
"""Checks a `synclr train` model.safetensors against timm's VisionTransformer (manual; CI never runs it).

    synclr embed --checkpoint RUN/model.safetensors --images DIR --out feats.safetensors
    python3 Scripts/experiments/check_timm_model.py RUN/model.safetensors DIR feats.safetensors

Builds timm's VisionTransformer from the file's `synclr` metadata, loads the weights strictly
(only SynRep's iBOT `mask_token` is dropped: timm has none), preprocesses DIR's images as SynRep
does for images of the model's size (scale to [0, 1], then (x - mean) / std; DIR's images must
already have that size and channel count), and prints the largest difference between timm's CLS
features and those `synclr embed` wrote. DIR is read as an ImageFolder tree (class folders,
files sorted by path), the order `synclr embed` uses.
"""

import json
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
from fixtures_synrep import import_timm  # noqa: E402


def main(model_path, image_dir, features_path):
    if import_timm() is None:
        sys.exit("timm is not importable")
    from timm.models.vision_transformer import VisionTransformer

    with safe_open(model_path, "pt") as f:
        card = json.loads(f.metadata()["synclr"])
    state = load_file(model_path)
    state.pop("mask_token", None)
    model = VisionTransformer(img_size=card["image_size"], patch_size=card["patch_size"], in_chans=card["channels"],
                              embed_dim=card["width"], depth=card["depth"], num_heads=card["heads"],
                              mlp_ratio=card["mlp_ratio"], num_classes=0)
    model.load_state_dict(state, strict=True)
    model.eval()

    files = sorted(p for p in Path(image_dir).rglob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    mode = "L" if card["channels"] == 1 else "RGB"
    x = torch.stack([torch.from_numpy(np.asarray(Image.open(p).convert(mode), dtype=np.float32) / 255.0)
                     .reshape(card["image_size"], card["image_size"], card["channels"]).permute(2, 0, 1) for p in files])
    x = (x - torch.tensor(card["mean"]).view(1, -1, 1, 1)) / torch.tensor(card["std"]).view(1, -1, 1, 1)
    with torch.no_grad():
        timm_features = model(x)
    swift_features = load_file(features_path)["features"]
    err = float((timm_features - swift_features).abs().max())
    print(f"{len(files)} images: timm's state-dict load is strict and clean; max |timm - synclr embed| = {err:.2e} "
          f"(features up to {float(timm_features.abs().max()):.2f})")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])

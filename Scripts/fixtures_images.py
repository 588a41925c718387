#!/usr/bin/env python3
"""Writes the image fixtures of Tests/SynTensorTests/Fixtures (committed; CI never runs this).

Setup: pip install pillow numpy safetensors
Run:   python3 Scripts/fixtures_images.py

Small PNG and JPEG files written by Pillow in the modes a dataset meets (gray, RGB, RGBA,
gray+alpha, palette with and without transparency, 1-bit, 16-bit gray; baseline,
progressive, grayscale and Adobe CMYK JPEG), plus images_expected.safetensors holding, per
file, the pixels Pillow decodes (U8, [H, W, C]) after converting to the channel layout the
Swift decoder yields. PNG must match exactly; JPEG within a small tolerance (decoder builds).
"""
import os

import numpy as np
from PIL import Image
from safetensors.numpy import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "SynTensorTests", "Fixtures")
rng = np.random.default_rng(7)


def noise(h, w, c):
    return rng.integers(0, 256, size=(h, w, c), dtype=np.uint8)


def smooth(h, w):
    y, x = np.mgrid[0:h, 0:w]
    r = (x * 255 / (w - 1)).astype(np.uint8)
    g = (y * 255 / (h - 1)).astype(np.uint8)
    b = ((x + y) * 255 / (w + h - 2)).astype(np.uint8)
    return np.stack([r, g, b], axis=-1)


def hwc(img):
    a = np.asarray(img)
    return np.ascontiguousarray(a[:, :, None] if a.ndim == 2 else a)


def main():
    expected = {}

    def png(name, img, decoded, **kw):
        path = os.path.join(OUT, name)
        img.save(path, **kw)
        expected[name] = hwc(decoded(Image.open(path)))

    png("image_rgb.png", Image.fromarray(noise(5, 7, 3), "RGB"), lambda im: im)
    png("image_gray.png", Image.fromarray(noise(5, 7, 1)[:, :, 0], "L"), lambda im: im)
    png("image_rgba.png", Image.fromarray(noise(5, 7, 4), "RGBA"), lambda im: im)
    png("image_la.png", Image.fromarray(noise(5, 7, 2), "LA"), lambda im: im.convert("RGBA"))
    pal = Image.fromarray(noise(5, 7, 3), "RGB").quantize(colors=16)
    png("image_palette.png", pal, lambda im: im.convert("RGB"))
    png("image_palette_trns.png", pal, lambda im: im.convert("RGBA"), transparency=3)
    png("image_1bit.png", Image.fromarray(noise(5, 7, 1)[:, :, 0] > 127), lambda im: im.convert("L"))
    g16 = rng.integers(0, 65536, size=(5, 7), dtype=np.uint16)
    path = os.path.join(OUT, "image_gray16.png")
    Image.fromarray(g16).save(path)
    assert np.array_equal(np.asarray(Image.open(path)), g16)
    expected["image_gray16.png"] = (g16 >> 8).astype(np.uint8)[:, :, None]

    def jpg(name, img, decoded, **kw):
        path = os.path.join(OUT, name)
        img.save(path, **kw)
        expected[name] = hwc(decoded(Image.open(path)))

    rgb = Image.fromarray(smooth(12, 16), "RGB")
    jpg("image_rgb.jpg", rgb, lambda im: im, quality=90)
    jpg("image_progressive.jpg", rgb, lambda im: im, quality=90, progressive=True)
    jpg("image_gray.jpg", rgb.convert("L"), lambda im: im, quality=90)
    jpg("image_cmyk.jpg", rgb.convert("CMYK"), lambda im: im.convert("RGB"), quality=95)

    save_file(expected, os.path.join(OUT, "images_expected.safetensors"), metadata={"producer": "Scripts/fixtures_images.py"})
    for f in sorted(os.listdir(OUT)):
        if f.startswith("image"):
            print(f, os.path.getsize(os.path.join(OUT, f)))


if __name__ == "__main__":
    main()

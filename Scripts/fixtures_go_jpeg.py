#!/usr/bin/env python3
"""Writes Tests/SynTensorTests/Fixtures/go_jpeg_pillow.json (committed; CI never runs this).

Setup: apt-get install golang-1.19-src (Scripts/setup.sh does); pip install pillow numpy
Run:   python3 Scripts/fixtures_go_jpeg.py

A second, independent decoder for the JPEG conformance test (ImageConformanceTests): for every
JPEG test image of Debian's golang-1.19-src (/usr/share/go-1.19/src/image/testdata), the
FNV-1a 64-bit hash (the project's FNV1a) and the sum of the pixels Pillow decodes, in the layout ImageIO yields (gray: 1 channel, HWC;
colour: RGB; CMYK: Pillow's convert("RGB")), plus the size. The images are not copied: the test
reads them from the Debian package. Also records Pillow's and its libjpeg's versions.
"""
import glob
import json
import os

import numpy as np
import PIL
from PIL import Image, features

SRC = "/usr/share/go-1.19/src/image/testdata"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "SynTensorTests", "Fixtures", "go_jpeg_pillow.json")


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def main():
    files = {}
    for path in sorted(glob.glob(os.path.join(SRC, "*.jpeg"))):
        im = Image.open(path)
        mode = im.mode
        im.load()
        if mode == "CMYK":
            im = im.convert("RGB")
        a = np.ascontiguousarray(np.asarray(im), dtype=np.uint8)
        channels = 1 if a.ndim == 2 else a.shape[2]
        files[os.path.basename(path)] = {
            "width": int(a.shape[1]), "height": int(a.shape[0]), "channels": channels, "mode": mode,
            "fnv1a64": "%016x" % fnv1a64(a.tobytes()), "sum": int(a.astype(np.int64).sum()),
        }
    doc = {"producer": "Scripts/fixtures_go_jpeg.py", "pillow": PIL.__version__, "libjpeg": features.version("jpg"), "libjpeg_turbo": features.version("libjpeg_turbo"),
           "source": SRC, "files": files}
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")
    print(OUT, len(files), "files")


if __name__ == "__main__":
    main()

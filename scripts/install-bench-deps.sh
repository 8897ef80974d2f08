#!/usr/bin/env bash
# Installs what the side-by-side benchmarks compare against (Debian packages): plain PyTorch
# (python3-torch, the same LibTorch build as libtorch-dev) for `npm run bench:few-shot -- --timing`.
# Benchmarks only: the library never imports Python. Run as root. Installs nothing that is already there.
set -euo pipefail
source "$(dirname "$0")/apt-install.sh"
packages=()
/usr/bin/python3 -c 'import torch' 2>/dev/null || packages+=(python3-torch)
apt_install "${packages[@]}"

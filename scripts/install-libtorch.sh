#!/usr/bin/env bash
# Makes LibTorch available on Debian/Ubuntu: installs libtorch-dev when no LibTorch is found.
# Run as root. Does nothing when LIBTORCH, Torch_DIR, a Python torch or a system LibTorch exists.
set -euo pipefail
arch=$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)
if [ -n "${LIBTORCH:-}" ] || [ -n "${Torch_DIR:-}" ]; then echo "LibTorch: using LIBTORCH/Torch_DIR"; exit 0; fi
if python3 -c "import torch" >/dev/null 2>&1; then echo "LibTorch: using the Python torch install"; exit 0; fi
for d in "/usr/lib/$arch/cmake/Torch" /usr/local/libtorch/share/cmake/Torch; do
  if [ -f "$d/TorchConfig.cmake" ]; then echo "LibTorch: found $d"; exit 0; fi
done
if [ "$(id -u)" -ne 0 ]; then echo "LibTorch not found: run this script as root (sudo) to install libtorch-dev" >&2; exit 1; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends libtorch-dev cmake g++ make >/dev/null
echo "LibTorch: installed libtorch-dev"

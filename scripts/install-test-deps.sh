#!/usr/bin/env bash
# Installs what the tests and benchmarks read or drive (Debian packages; the library itself never
# downloads anything): Fashion-MNIST into /usr/share/datasets/fashion-mnist, and Chromium, which
# opens the HTML reports in the report test. Run as root. Installs nothing that is already there.
set -euo pipefail
source "$(dirname "$0")/apt-install.sh"
packages=()
[ -d /usr/share/datasets/fashion-mnist ] || packages+=(dataset-fashion-mnist)
command -v chromium >/dev/null 2>&1 || packages+=(chromium)
apt_install "${packages[@]}"

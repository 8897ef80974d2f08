#!/usr/bin/env bash
# Installs what the tests and benchmarks read or drive (Debian packages; the library itself never
# downloads anything): Fashion-MNIST into /usr/share/datasets/fashion-mnist, and Chromium, which
# opens the HTML reports in the report test. Run as root. Installs nothing that is already there.
set -euo pipefail
packages=()
[ -d /usr/share/datasets/fashion-mnist ] || packages+=(dataset-fashion-mnist)
command -v chromium >/dev/null 2>&1 || packages+=(chromium)
if [ ${#packages[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then echo "Missing ${packages[*]}: run this script as root to install them" >&2; exit 1; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "Installed: ${packages[*]}"

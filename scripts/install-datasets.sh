#!/usr/bin/env bash
# Installs the datasets the tests and benchmarks read (Debian packages; nothing is downloaded by
# the library): Fashion-MNIST into /usr/share/datasets/fashion-mnist. Run as root.
set -euo pipefail
if [ -d /usr/share/datasets/fashion-mnist ]; then echo "Fashion-MNIST: found"; exit 0; fi
if [ "$(id -u)" -ne 0 ]; then echo "Fashion-MNIST missing: run this script as root to install dataset-fashion-mnist" >&2; exit 1; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends dataset-fashion-mnist >/dev/null
echo "Installed: dataset-fashion-mnist"

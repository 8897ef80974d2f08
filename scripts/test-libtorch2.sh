#!/usr/bin/env bash
# Builds the addon against LibTorch 2.x and runs the test suite there: a Debian trixie root
# (debootstrap, into $BILEVEL_TRIXIE_ROOT, default /var/tmp/bilevel-trixie) with trixie's
# libtorch-dev (2.6, CPU), Node.js and a compiler, the working tree copied in, then .ci/run's
# steps. A development check (root; about 1.5 GB and 15-20 minutes the first time, a few
# minutes after): CI compiles against 2.x headers only (scripts/check-libtorch2.sh).
#   sudo bash scripts/test-libtorch2.sh [jest arguments, e.g. test/solver-api.test.ts]
set -euo pipefail
cd "$(dirname "$0")/.."
root="${BILEVEL_TRIXIE_ROOT:-/var/tmp/bilevel-trixie}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

if [ ! -x "$root/usr/bin/node" ]; then
  command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
  debootstrap --variant=minbase --include=ca-certificates trixie "$root" "$mirror"
fi
# The host's name servers and certificate authorities (a registry proxy may sign with its own).
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
for fs in proc sys dev; do
  mountpoint -q "$root/$fs" || mount --rbind "/$fs" "$root/$fs"
done
mkdir -p "$root/work/bilevel"
git ls-files -z --cached --others --exclude-standard | tar --null --ignore-failed-read -T - -cf - | tar -xf - -C "$root/work/bilevel"
chroot "$root" env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt DEBIAN_FRONTEND=noninteractive bash -c '
  set -euo pipefail
  cd /work/bilevel
  command -v node >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends \
    libtorch-dev nodejs npm cmake g++ make zlib1g-dev python3 git >/dev/null; }
  bash scripts/install-libtorch.sh
  bash scripts/install-test-deps.sh
  [ -d node_modules ] || npm ci
  npx cmake-js compile >/dev/null
  node -e "console.log(\"LibTorch\", require(\"./build/Release/bilevel.node\").versions().libtorch)"
  node --expose-gc ./node_modules/jest/bin/jest.js --runInBand "$@"
' bash "$@"

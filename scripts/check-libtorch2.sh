#!/usr/bin/env bash
# Compiles every native translation unit (syntax and templates, no code generation) against
# the headers of LibTorch 2.x built with CUDA, so code that only builds on the machine's
# LibTorch 1.13 is caught without a GPU machine. The headers come from Debian trixie's
# libtorch-cuda-dev package (Debian's registry), unpacked into a cache folder, nothing installed.
#   bash scripts/check-libtorch2.sh            # uses $BILEVEL_TORCH2_CACHE or build/libtorch2
set -euo pipefail
cd "$(dirname "$0")/.."

mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
cache="${BILEVEL_TORCH2_CACHE:-build/libtorch2}"
include="$cache/usr/include"

if [ ! -f "$include/torch/csrc/api/include/torch/version.h" ]; then
  mkdir -p "$cache"
  # The package's current file name, from trixie's contrib index (its version moves with updates).
  # awk reads the whole index: leaving early would end xz with SIGPIPE, which pipefail reports.
  deb_path=$(curl -fsSL "$mirror/dists/trixie/contrib/binary-amd64/Packages.xz" | xz -dc |
    awk '$0 == "Package: libtorch-cuda-dev" { found = 1 } found && !done && /^Filename: / { print $2; done = 1 }')
  if [ -z "$deb_path" ]; then
    echo "check-libtorch2: libtorch-cuda-dev not found in Debian trixie's contrib index" >&2
    exit 1
  fi
  curl -fsSL "$mirror/$deb_path" -o "$cache/libtorch-cuda-dev.deb"
  dpkg-deb -x "$cache/libtorch-cuda-dev.deb" "$cache"
  rm "$cache/libtorch-cuda-dev.deb"
fi

version=$(awk '/define TORCH_VERSION_(MAJOR|MINOR|PATCH)/ { printf "%s%s", sep, $3; sep = "." }' \
  "$include/torch/csrc/api/include/torch/version.h")
echo "check-libtorch2: compiling native/ against LibTorch $version headers (CUDA build) from $cache"

flags=(-std=c++17 -D_GLIBCXX_USE_CXX11_ABI=1
  -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -DBILEVEL_HAVE_SLEEF
  -Inode_modules/node-api-headers/include -Inode_modules/node-addon-api -Inative
  -isystem "$include" -isystem "$include/torch/csrc/api/include")
# Gloo's headers (libgloo-dev) turn on the process group's real code (native/core/distributed).
[ ! -f /usr/include/gloo/config.h ] || flags+=(-DBILEVEL_HAVE_GLOO -DUSE_C10D_GLOO)
# LibTorch's headers precompiled once, as the real build does: each unit then takes a third of
# the time it takes parsing them itself.
pch="$cache/torch_pch.h"
echo '#include <torch/torch.h>' >"$pch"
g++ "${flags[@]}" -x c++-header "$pch" -o "$pch.gch"
flags+=(-fsyntax-only -Winvalid-pch -include "$pch")
export flags_string="${flags[*]}"
find native bench -name '*.cc' | sort |
  xargs -P "$(nproc)" -I{} sh -c 'g++ $flags_string {} && echo "  ok {}"'
rm "$pch.gch"
echo "check-libtorch2: every unit compiles against LibTorch $version"

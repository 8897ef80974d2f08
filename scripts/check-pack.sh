#!/usr/bin/env bash
# npm run check:pack — the package as a user meets it. Makes the addon built here (build/Release,
# from `npm ci`) the package's prebuilt binary, packs, checks what the tarball holds, installs it
# into an empty project (test/pack-consumer/) with no compiler or CMake on the PATH (the prebuilt
# must load: seconds), then uses it as the README shows: require() from CommonJS, import from an
# ES module, a TypeScript consumer type-checked against the installed declarations, `bilevel info`
# (which must name the prebuilt) and the `bilevel` command on a shipped example config. Then
# installs it once more with BILEVEL_VARIANT=source, the fallback that compiles the addon (several
# minutes), and checks that this install left no build intermediates behind and loads its own
# build. Exits non-zero naming the first check that failed; the temporary folder is then kept.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/bilevel-check-pack.XXXXXX")
started=$SECONDS

step() { echo "check-pack [$((SECONDS - started)) s]: $*"; }
fail() {
  echo "check-pack: FAILED: $*" >&2
  echo "check-pack: the project is kept in $work" >&2
  exit 1
}
trap 'fail "command at line $LINENO of scripts/check-pack.sh exited with $?"' ERR
trap '[ $? -ne 0 ] || rm -rf "$work"' EXIT

step "the addon built here as the package's prebuilt binary"
(cd "$repo" && node scripts/build-prebuilt.js)
step "packing (npm pack runs prepare: tsc)"
tarball="$work/$(cd "$repo" && npm pack --silent --pack-destination "$work" | tail -n 1)"
[ -f "$tarball" ] || fail "npm pack wrote no tarball"

contents=$(tar -tzf "$tarball")
for shipped in LICENSE README.md CMakeLists.txt binding.d.ts dist/index.js dist/index.d.ts dist/cli.js \
  docs/config.md docs/algorithms.md schema/bilevel-run.schema.json examples/configs/nonconvex-rhg.json \
  scripts/install-libtorch.sh scripts/apt-install.sh scripts/install.js scripts/prune-installed-build.js; do
  grep -qxF "package/$shipped" <<<"$contents" || fail "the tarball lacks $shipped"
done
development=$(grep -E '^package/(bench|test|build|scratch|\.ci|lib)/' <<<"$contents" || true)
[ -z "$development" ] || fail "the tarball holds development-only files:"$'\n'"$development"
prebuilt=$(grep -E "^package/prebuilds/$(node -p 'process.platform + "-" + process.arch')/bilevel\..*\.node$" <<<"$contents" || true)
[ -n "$prebuilt" ] || fail "the tarball holds no prebuilt binary for this platform"

consumer="$work/consumer"
cp -r "$repo/test/pack-consumer" "$consumer"
cd "$consumer"
# The install as on a machine with LibTorch and no build tools: node and sh alone on the PATH.
tools="$work/tools"
mkdir -p "$tools"
ln -s "$(command -v node)" "$tools/node"
ln -s "$(command -v sh)" "$tools/sh"
npm_cli=$(readlink -f "$(command -v npm)")
step "installing $(basename "$tarball") into an empty project with no compiler or CMake on the PATH"
install_started=$SECONDS
PATH="$tools" node "$npm_cli" install --no-audit --no-fund --foreground-scripts "$tarball" >"$work/install.log" 2>&1 ||
  { tail -n 40 "$work/install.log" >&2; fail "npm install of the tarball with the prebuilt binary (the end of its log is above)"; }
installed=node_modules/bilevel
step "installed in $((SECONDS - install_started)) s; $installed takes $(du -sh "$installed" | cut -f1)"
grep -q '^bilevel: using the prebuilt binary ' "$work/install.log" || { cat "$work/install.log" >&2; fail "the install did not take the prebuilt binary"; }
[ ! -e "$installed/build" ] || fail "the install with a prebuilt binary made $installed/build"

step "require('bilevel') from CommonJS: a tensor and a toy problem solved"
node require-check.cjs || fail "the CommonJS consumer (test/pack-consumer/require-check.cjs)"
step "import from an ES module"
node import-check.mjs || fail "the ES module consumer (test/pack-consumer/import-check.mjs)"

step "type-checking a TypeScript consumer against the installed declarations"
# @types/node from the checkout, as a Node.js project would have its own.
mkdir -p node_modules/@types
ln -s "$repo/node_modules/@types/node" node_modules/@types/node
"$repo/node_modules/.bin/tsc" -p tsconfig.json || fail "the TypeScript consumer (test/pack-consumer/types-check.*)"

step "npx bilevel info names the prebuilt"
npx --no-install bilevel info | tee "$work/info.txt" || fail "npx bilevel info"
grep -q '^addon prebuilds/.* (libtorch.*: prebuilt for LibTorch ' "$work/info.txt" || fail "bilevel info does not name the prebuilt binary"
config="$installed/examples/configs/nonconvex-rhg.json"
step "npx bilevel run $config --iterations 3"
npx --no-install bilevel run "$config" --iterations 3 --out "$work/run" ||
  fail "npx bilevel run $config --iterations 3 --out $work/run"
[ -f "$work/run/result.json" ] || fail "bilevel run wrote no result.json in $work/run"
node -e '
  const result = require(process.argv[1]);
  if (result.status !== "completed" || result.iterations !== 3) {
    console.error(`result.json says status ${result.status} after ${result.iterations} iterations; expected completed after 3`);
    process.exit(1);
  }' "$work/run/result.json" || fail "bilevel run's result.json"

step "installing it again with BILEVEL_VARIANT=source: the fallback that compiles the addon (minutes)"
rm -rf "$installed"
BILEVEL_VARIANT=source npm install --no-audit --no-fund --foreground-scripts "$tarball" >"$work/install-source.log" 2>&1 ||
  { tail -n 40 "$work/install-source.log" >&2; fail "npm install of the tarball from source (the end of its log is above)"; }
step "installed from source; $installed takes $(du -sh "$installed" | cut -f1)"
[ -f "$installed/build/Release/bilevel.node" ] || fail "the install from source left no $installed/build/Release/bilevel.node"
leftovers=$(find "$installed" \( -name '*.pch' -o -name '*.gch' -o -name '*.o' -o -name CMakeCache.txt \
  -o -name CMakeFiles \) -print)
[ -z "$leftovers" ] || fail "build intermediates left after the install:"$'\n'"$leftovers"
npx --no-install bilevel info | tee "$work/info.txt" || fail "npx bilevel info after the install from source"
grep -q '^addon build/Release/bilevel.node (source: ' "$work/info.txt" || fail "bilevel info does not name the build from source"
node require-check.cjs || fail "the CommonJS consumer on the build from source"

step "passed"

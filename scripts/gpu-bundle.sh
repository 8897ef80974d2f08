#!/usr/bin/env bash
# Assembles .gpu/ (ignored), which the GPU machine's call carries: everything scripts/gpu-check.sh
# needs there that the machine lacks. It has CUDA, PyTorch's LibTorch, CMake and a compiler, but
# no Node.js and no network. docs/benchmarks.md ("GPU check") says how to run the check.
#   bash scripts/gpu-bundle.sh
# .gpu/bundle.tar.xz holds: bin/node (this machine's, stripped), include/node (the Node-API C
# headers), include/zlib (for an image without zlib's headers), dist/ (compiled now from lib/),
# node_modules/ (what the library, the CLI and the jest suite load) and fashion-mnist/ (a subset).
set -euo pipefail
cd "$(dirname "$0")/.."

readonly bundle=.gpu
readonly fashion="${BILEVEL_FASHION_MNIST:-/usr/share/datasets/fashion-mnist}"
# 5000 training + 5000 validation samples come from the training file; the whole test file (10000)
# lets the jest suite's real-data tests, which use the default split, run there too.
readonly train_count=10000 test_count=10000
# Not needed there: the build runs plain CMake (gpu-check.sh passes what cmake-js would).
readonly left_out_packages=(cmake-js)

for tool in node npx strip xz tar git; do
  command -v "$tool" >/dev/null || { echo "gpu-bundle: $tool not found" >&2; exit 1; }
done
[ -f "$fashion/train-images-idx3-ubyte.gz" ] ||
  { echo "gpu-bundle: Fashion-MNIST not found in $fashion (apt-get install dataset-fashion-mnist)" >&2; exit 1; }

staging=$(mktemp -d /tmp/bilevel-gpu-bundle.XXXXXX)
trap 'rm -rf "$staging"' EXIT
mkdir -p "$staging"/{bin,include/node,include/zlib,fashion-mnist}

echo "gpu-bundle: node $(node --version), stripped (addons bind to its dynamic symbols, which stay)"
strip -o "$staging/bin/node" "$(command -v node)"
cp /usr/include/node/{node_api.h,node_api_types.h,js_native_api.h,js_native_api_types.h} "$staging/include/node/"
cp /usr/include/{zlib.h,zconf.h} "$staging/include/zlib/"

echo "gpu-bundle: compiling lib/ into the bundle's dist/"
npx tsc -p tsconfig.json --outDir "$staging/dist"

echo "gpu-bundle: Fashion-MNIST subset: $train_count training, $test_count test images"
# IDX: a big-endian header (0, 0, element type, dimension count, then each dimension's size), then
# the items; the subset keeps the first `count` items and rewrites the first dimension.
node - "$fashion" "$staging/fashion-mnist" \
  train-images-idx3-ubyte.gz "$train_count" train-labels-idx1-ubyte.gz "$train_count" \
  t10k-images-idx3-ubyte.gz "$test_count" t10k-labels-idx1-ubyte.gz "$test_count" <<'EOF'
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const [from, to, ...files] = process.argv.slice(2);
for (let i = 0; i < files.length; i += 2) {
  const [name, count] = [files[i], Number(files[i + 1])];
  const idx = zlib.gunzipSync(fs.readFileSync(path.join(from, name)));
  const headerBytes = 4 + 4 * idx[3];
  const items = idx.readUInt32BE(4);
  if (idx[2] !== 0x08 || count > items) throw new Error(`${name}: not unsigned-byte IDX with at least ${count} items`);
  const subset = Buffer.from(idx.subarray(0, headerBytes + count * ((idx.length - headerBytes) / items)));
  subset.writeUInt32BE(count, 4);
  fs.writeFileSync(path.join(to, name), zlib.gzipSync(subset, { level: 9 }));
}
EOF

# The packages that package.json names (less left_out_packages) and everything they load: their
# dependencies, optional and peer dependencies that are installed, resolved as Node resolves them.
node - "${left_out_packages[@]}" >"$staging/packages.txt" <<'EOF'
const fs = require('node:fs');
const path = require('node:path');
const root = process.cwd();
const manifestOf = (dir) => JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
function resolve(name, from) {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (dir === root) return undefined;
  }
}
const found = new Set();
function visit(dir) {
  if (dir === undefined || found.has(dir)) return;
  found.add(dir);
  const manifest = manifestOf(dir);
  const names = { ...manifest.dependencies, ...manifest.optionalDependencies, ...manifest.peerDependencies };
  for (const name of Object.keys(names)) visit(resolve(name, dir));
}
const leftOut = new Set(process.argv.slice(2));
const project = manifestOf(root);
for (const name of Object.keys({ ...project.dependencies, ...project.devDependencies })) {
  if (leftOut.has(name)) continue;
  const dir = resolve(name, root);
  if (dir === undefined) throw new Error(`${name} is not installed: run npm ci first`);
  visit(dir);
}
for (const dir of [...found].sort()) console.log(path.relative(root, dir));
EOF
echo "gpu-bundle: $(wc -l <"$staging/packages.txt") packages from node_modules/"

cat >"$staging/bundle.json" <<EOF
{
  "created": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "commit": "$(git rev-parse HEAD)",
  "uncommittedFiles": $(git status --porcelain | wc -l),
  "node": "$(node --version)",
  "fashionMnist": { "train": $train_count, "test": $test_count }
}
EOF

echo "gpu-bundle: compressing (xz -9)"
rm -rf "$bundle"
mkdir -p "$bundle"
tar -cf "$staging/bundle.tar" -C "$staging" bin include dist fashion-mnist
tar -rf "$staging/bundle.tar" -T "$staging/packages.txt"
xz -9 -T0 -c "$staging/bundle.tar" >"$bundle/bundle.tar.xz"
cp "$staging/bundle.json" "$bundle/"

git check-ignore -q "$bundle/bundle.tar.xz" ||
  echo "gpu-bundle: warning: $bundle/ is not ignored by git; it must be, to travel as a carried folder" >&2
echo "gpu-bundle: $bundle/ holds $(du -sh "$bundle" | cut -f1) ($(du -sh "$staging/bundle.tar" | cut -f1) unpacked)"
echo "gpu-bundle: on the GPU machine: carry [\"$bundle\"], command: bash scripts/gpu-check.sh"

#!/usr/bin/env node
// npm run build:prebuilt [-- --from FILE]: makes the addon built from source (build/Release/
// bilevel.node, or FILE, e.g. a binary built in a root with a CUDA LibTorch) a prebuilt binary of
// the package: prebuilds/<platform>-<arch>/bilevel.<variant>.node and its manifest <variant>.json
// (the LibTorch version and C++ ABI it was compiled against, CUDA or not, the shared libraries it
// needs), which lib/addon/candidates.ts reads. The variant, libtorch<major>.<minor>-<cpu|cuda>,
// names the pin: Debian's LibTorch libraries carry major.minor in their file names (sonames), so the
// binary cannot load against another LibTorch; the loader says which it needs. Run before `npm pack`
// and `npm publish` (check:pack does). Loads the binary once, so run it where it was built.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');

const packageDir = path.join(__dirname, '..');
const { values } = parseArgs({ options: { from: { type: 'string' } } });
const binary = path.resolve(values.from ?? path.join(packageDir, 'build', 'Release', 'bilevel.node'));
if (!fs.existsSync(binary)) {
  console.error(`build-prebuilt: ${binary} does not exist; build it first (npx cmake-js compile)`);
  process.exit(1);
}

// Loaded in a child process, so that a binary that does not load here fails with the loader's words.
const versions = JSON.parse(execFileSync(process.execPath, ['-e',
  'process.stdout.write(JSON.stringify(require(process.argv[1]).versions()))', binary], { encoding: 'utf8' }));
const needs = execFileSync('objdump', ['-p', binary], { encoding: 'utf8' }).split('\n')
  .map((line) => /^\s*NEEDED\s+(\S+)/.exec(line)?.[1]).filter((name) => name !== undefined);
const cuda = needs.some((name) => /^lib(torch_cuda|c10_cuda)/.test(name));
const [major, minor] = versions.libtorch.split('.');
const variant = `libtorch${major}.${minor}-${cuda ? 'cuda' : 'cpu'}`;
const osRelease = fs.existsSync('/etc/os-release') ? fs.readFileSync('/etc/os-release', 'utf8') : '';
const builtOn = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(osRelease)?.[1] ?? `${process.platform}-${process.arch}`;

const dir = path.join(packageDir, 'prebuilds', `${process.platform}-${process.arch}`);
fs.mkdirSync(dir, { recursive: true });
const target = path.join(dir, `bilevel.${variant}.node`);
fs.copyFileSync(binary, target);
const manifest = { variant, libtorch: versions.libtorch, cuda, cxx11Abi: versions.build.cxx11Abi, needs, builtOn };
fs.writeFileSync(path.join(dir, `${variant}.json`), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`build-prebuilt: ${path.relative(packageDir, target)} (LibTorch ${versions.libtorch}, ` +
  `${cuda ? 'CUDA' : 'CPU'}, cxx11 ABI ${manifest.cxx11Abi ? 'on' : 'off'}, built on ${builtOn}, ${(fs.statSync(target).size / 2 ** 20).toFixed(1)} MiB)`);

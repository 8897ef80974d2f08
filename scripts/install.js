#!/usr/bin/env node
// npm's install hook. Takes a prebuilt binary when one loads on this machine (seconds, no compiler),
// else compiles the addon from source against the LibTorch CMake finds (minutes), saying so in one
// line first. The choice is the library's own loader's (dist/binding.js): a child process tries the
// candidates exactly as `require('bilevel')` will. From source regardless with BILEVEL_VARIANT=source
// or `npm rebuild bilevel --build-from-source`, where an addon compiled from source is already here
// (a rebuild), and in a development checkout, which has no compiled loader (dist/) when `npm ci`
// runs this hook.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const packageDir = path.join(__dirname, '..');
const loader = path.join(packageDir, 'dist', 'binding.js');

/** The loader's attempt here: the binary it takes ({choice}) or why each candidate failed ({passedOver}). */
function attempt() {
  const probe = spawnSync(process.execPath, ['-e', `
    const attempt = require(${JSON.stringify(loader)}).tryAddons();
    process.stdout.write(JSON.stringify(attempt.choice ? { choice: attempt.choice } : { passedOver: attempt.passedOver }));`],
  { encoding: 'utf8' });
  if (probe.status !== 0) return { passedOver: [{ variant: 'the loader', reason: probe.stderr.trim().split('\n')[0] }] };
  return JSON.parse(probe.stdout);
}

function compileFromSource(reason) {
  console.log(`bilevel: ${reason}; compiling the addon from source against your LibTorch (CMake and a C++17 compiler; ` +
    'about 6 minutes on 2 cores, 3 GB of memory; LIBTORCH=/path/to/libtorch chooses which LibTorch)');
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [packageDir] });
  for (const args of [[cmakeJs, 'compile'], [path.join(__dirname, 'prune-installed-build.js')]]) {
    const step = spawnSync(process.execPath, args, { cwd: packageDir, stdio: 'inherit' });
    if (step.status !== 0) process.exit(step.status ?? 1);
  }
}

const fromSource = process.env.BILEVEL_VARIANT === 'source' || process.env.npm_config_build_from_source === 'true';
if (fromSource) compileFromSource('building from source as asked');
else if (!fs.existsSync(loader)) compileFromSource('a development checkout');
else {
  const { choice, passedOver } = attempt();
  if (choice?.variant === 'source') compileFromSource('an addon compiled from source is here');
  else if (choice !== undefined) console.log(`bilevel: using the prebuilt binary ${choice.variant} (${choice.why}); nothing to compile`);
  else if (passedOver.length === 0) compileFromSource(`no prebuilt binary for ${process.platform}-${process.arch}`);
  else compileFromSource(`no prebuilt binary loads here (${passedOver.map((p) => `${p.variant}: ${p.reason}`).join('; ')})`);
}

#!/usr/bin/env node
// Runs after the install script's native build. Installed as a dependency, the package keeps only
// the addon, build/Release/bilevel.node: everything else in build/ (the precompiled LibTorch header
// alone is ~550 MB, then object files, CMake's cache and build files) serves only a rebuild, and
// `npm rebuild bilevel` configures from scratch without them.
//
// In a development checkout (`npm ci` / `npm install` there runs the same install script) nothing
// is removed, so that `npx cmake-js build` stays incremental.
//
// "Installed as a dependency" is decided by where the package lies, not by environment variables
// (which differ between package managers and their versions): its folder's parent is a
// node_modules folder. That holds for npm and Yarn (node_modules/bilevel), pnpm
// (node_modules/.pnpm/bilevel@0.1.0/node_modules/bilevel) and global installs, and not for a
// checkout, including a linked one (`npm link`, `npm install ../bilevel`): its scripts run in its
// real folder, which is why the path is resolved through symbolic links first.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const packageDir = fs.realpathSync(path.join(__dirname, '..'));
const buildDir = path.join(packageDir, 'build');
const addonDir = path.join(buildDir, 'Release');
const addonName = 'bilevel.node';

function installedAsDependency() {
  return path.basename(path.dirname(packageDir)) === 'node_modules';
}

/** Removes every entry of `dir` except the one named `kept`. */
function removeAllBut(dir, kept) {
  for (const entry of fs.readdirSync(dir)) {
    if (entry !== kept) fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
  }
}

if (installedAsDependency()) {
  if (!fs.existsSync(path.join(addonDir, addonName))) {
    // Keep everything for the diagnosis: the build should have failed before this script ran.
    console.error(`bilevel: ${path.join(addonDir, addonName)} is missing after the build; build/ left as it is`);
    process.exit(1);
  }
  removeAllBut(buildDir, path.basename(addonDir));
  removeAllBut(addonDir, addonName);
  console.log(`bilevel: removed the build intermediates, kept ${path.join('build', 'Release', addonName)}`);
}

// scripts/prune-installed-build.js (the install script's last step): installed as a dependency,
// only build/Release/bilevel.node stays; in a checkout, linked or not, the build folder is kept
// whole for incremental builds. The script runs on copies of the package layout it meets.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const script = path.join(__dirname, '..', 'scripts', 'prune-installed-build.js');
const intermediates = [
  'CMakeCache.txt',
  'build.ninja',
  'CMakeFiles/bilevel_core.dir/cmake_pch.hxx.gch',
  'CMakeFiles/bilevel_core.dir/native/core/solver.cc.o',
  'libbilevel_core.a',
  'Release/bilevel.exp',
];
const addon = 'Release/bilevel.node';

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'bilevel-prune-'));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

/** A package folder at `dir` with the script and a build folder holding `buildFiles`. */
function makePackage(dir: string, buildFiles: string[]): void {
  fs.mkdirSync(path.join(dir, 'scripts'), { recursive: true });
  fs.copyFileSync(script, path.join(dir, 'scripts', path.basename(script)));
  for (const file of buildFiles) {
    fs.mkdirSync(path.dirname(path.join(dir, 'build', file)), { recursive: true });
    fs.writeFileSync(path.join(dir, 'build', file), 'x');
  }
}

function runPrune(packageDir: string): number | null {
  return spawnSync(process.execPath, [path.join(packageDir, 'scripts', path.basename(script))], { encoding: 'utf8' }).status;
}

/** Every file under `dir`, relative and sorted. */
function filesUnder(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((entry) => fs.statSync(path.join(dir, entry)).isFile())
    .sort();
}

const allFiles = [...intermediates, addon].sort();

test.each([
  ['npm / Yarn', 'project/node_modules/bilevel'],
  ['pnpm', 'project/node_modules/.pnpm/bilevel@0.1.0/node_modules/bilevel'],
  ['a global install', 'usr/lib/node_modules/bilevel'],
])('installed as a dependency (%s): only the addon stays', (_manager, location) => {
  const packageDir = path.join(root, location);
  makePackage(packageDir, allFiles);
  expect(runPrune(packageDir)).toBe(0);
  expect(filesUnder(path.join(packageDir, 'build'))).toEqual([addon]);
});

test('in a development checkout, the build folder stays whole', () => {
  const checkout = path.join(root, 'bilevel');
  makePackage(checkout, allFiles);
  expect(runPrune(checkout)).toBe(0);
  expect(filesUnder(path.join(checkout, 'build'))).toEqual(allFiles);
});

test('a checkout linked into a project (npm link) stays whole', () => {
  const checkout = path.join(root, 'bilevel');
  makePackage(checkout, allFiles);
  const linked = path.join(root, 'project', 'node_modules', 'bilevel');
  fs.mkdirSync(path.dirname(linked), { recursive: true });
  fs.symlinkSync(checkout, linked, 'dir');
  expect(runPrune(linked)).toBe(0);
  expect(filesUnder(path.join(checkout, 'build'))).toEqual(allFiles);
});

test('without the addon, nothing is removed and the install fails', () => {
  const packageDir = path.join(root, 'project', 'node_modules', 'bilevel');
  makePackage(packageDir, intermediates);
  expect(runPrune(packageDir)).toBe(1);
  expect(filesUnder(path.join(packageDir, 'build'))).toEqual([...intermediates].sort());
});

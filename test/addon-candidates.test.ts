// The order in which the loader tries addon files (lib/addon/candidates.ts): a build from source
// first, CUDA prebuilts only where a GPU is present and then before the CPU ones, BILEVEL_VARIANT
// taking exactly the binary it names. Loading itself is tested on real binaries in cli.test.ts.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { addonCandidates, prebuiltDir, sourceAddonFile } from '../lib/addon/candidates';
import { BilevelError } from '../lib/errors';

let packageDir: string;
const manifest = (variant: string, cuda: boolean) => ({
  variant, libtorch: `${variant.slice('libtorch'.length, variant.indexOf('-'))}.0`, cuda, cxx11Abi: true, needs: [], builtOn: 'test',
});

beforeAll(() => {
  packageDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bilevel-candidates-'));
  fs.mkdirSync(prebuiltDir(packageDir), { recursive: true });
  for (const [variant, cuda] of [['libtorch2.6-cuda', true], ['libtorch1.13-cpu', false], ['libtorch2.6-cpu', false]] as const) {
    fs.writeFileSync(path.join(prebuiltDir(packageDir), `${variant}.json`), JSON.stringify(manifest(variant, cuda)));
  }
});
afterAll(() => fs.rmSync(packageDir, { recursive: true, force: true }));

const variants = (gpu: boolean, variant?: string) => addonCandidates(packageDir, { gpu, variant }).map((c) => c.variant);

test('without a GPU: the CPU prebuilts; with one: the CUDA prebuilts first', () => {
  expect(variants(false)).toEqual(['libtorch1.13-cpu', 'libtorch2.6-cpu']);
  expect(variants(true)).toEqual(['libtorch2.6-cuda', 'libtorch1.13-cpu', 'libtorch2.6-cpu']);
  const [cuda, cpu] = addonCandidates(packageDir, { gpu: true });
  expect(cuda).toMatchObject({ file: path.join(prebuiltDir(packageDir), 'bilevel.libtorch2.6-cuda.node'), why: 'prebuilt for LibTorch 2.6 with CUDA; tried first because a GPU is present' });
  expect(cpu.why).toBe('prebuilt for LibTorch 1.13; CPU only');
});

test('a build from source comes first where one exists; BILEVEL_VARIANT takes only what it names', () => {
  fs.mkdirSync(path.dirname(sourceAddonFile(packageDir)), { recursive: true });
  fs.writeFileSync(sourceAddonFile(packageDir), '');
  try {
    expect(variants(true)).toEqual(['source', 'libtorch2.6-cuda', 'libtorch1.13-cpu', 'libtorch2.6-cpu']);
    expect(variants(false, 'libtorch2.6-cuda')).toEqual(['libtorch2.6-cuda']);
    expect(variants(true, 'source')).toEqual(['source']);
    expect(() => variants(false, 'libtorch2.7-cpu')).toThrow(new BilevelError('NATIVE',
      `bilevel: BILEVEL_VARIANT=libtorch2.7-cpu names no binary of this package (${process.platform}-${process.arch}: source, libtorch1.13-cpu, libtorch2.6-cpu, libtorch2.6-cuda)`));
  } finally {
    fs.rmSync(path.join(packageDir, 'build'), { recursive: true });
  }
});

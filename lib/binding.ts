// Loads the native addon on first use: the first that loads of the candidates (a build from source,
// then the prebuilt binaries that fit), and tells the user exactly what to do when none does.
import * as path from 'node:path';
import type * as Binding from '../binding';
import { addonCandidates, currentEnvironment, prebuiltManifests, SOURCE_VARIANT, type AddonCandidate, type AddonEnvironment } from './addon/candidates';
import { BilevelError } from './errors';

const packageDir = path.join(__dirname, '..');

/** Which addon file is in use and why, and why the candidates tried before it were passed over. */
export interface AddonChoice {
  file: string;
  variant: string;
  why: string;
  passedOver: { variant: string; reason: string }[];
}

/** Why a candidate did not load, in a user's words: the library it lacks, or the loader's first line. */
function failureReason(candidate: AddonCandidate, err: Error): string {
  const said = err.message.split('\n')[0];
  if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return `${candidate.file} does not exist`;
  const missing = /([\w.+-]+\.so[\w.]*): cannot open shared object file/.exec(said)?.[1];
  if (missing === undefined) return said;
  const libtorch = candidate.manifest?.libtorch.split('.').slice(0, 2).join('.');
  return /^lib(torch|c10)/.test(missing) && libtorch !== undefined
    ? `it needs LibTorch ${libtorch}${candidate.manifest?.cuda ? ' with CUDA' : ''} (${missing} was not found)`
    : `${missing} was not found`;
}

function noAddonError(tried: AddonChoice['passedOver'], failures: Error[]): BilevelError {
  const shipped = [SOURCE_VARIANT, ...prebuiltManifests(packageDir).map((m) => m.variant)].join(', ');
  const lines = tried.length === 0
    ? ['  nothing: this package ships no binary for this platform and none was compiled']
    : tried.map((t) => `  ${t.variant}: ${t.reason}`);
  return new BilevelError(
    'NATIVE',
    `bilevel: no native addon loads on this machine (${process.platform}-${process.arch}). Tried:\n${lines.join('\n')}\n` +
      'Fixes, any one of:\n' +
      '  - Debian/Ubuntu: sudo bash node_modules/bilevel/scripts/install-libtorch.sh   (LibTorch and the libraries the prebuilt binary needs)\n' +
      '  - compile against your LibTorch: LIBTORCH=/path/to/libtorch npm rebuild bilevel --build-from-source   (needs CMake and a C++17 compiler; minutes)\n' +
      `  - choose a binary with BILEVEL_VARIANT (this package has: ${shipped})`,
    failures[0],
  );
}

type Attempt = { addon: typeof Binding; choice: AddonChoice } | { passedOver: AddonChoice['passedOver']; failures: Error[] };

/** The first candidate that loads for `env` and the record of the choice, or why each failed. */
export function tryAddons(env: AddonEnvironment = currentEnvironment(), dir = packageDir): Attempt {
  const passedOver: AddonChoice['passedOver'] = [];
  const failures: Error[] = [];
  for (const candidate of addonCandidates(dir, env)) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const addon = require(candidate.file) as typeof Binding;
      return { addon, choice: { file: candidate.file, variant: candidate.variant, why: candidate.why, passedOver } };
    } catch (err) {
      passedOver.push({ variant: candidate.variant, reason: failureReason(candidate, err as Error) });
      failures.push(err as Error);
    }
  }
  return { passedOver, failures };
}

/** The addon: the first candidate that loads; a BilevelError (NATIVE) with the fixes when none does. */
export function loadAddon(env: AddonEnvironment = currentEnvironment(), dir = packageDir): { addon: typeof Binding; choice: AddonChoice } {
  const attempt = tryAddons(env, dir);
  if ('addon' in attempt) return attempt;
  throw noAddonError(attempt.passedOver, attempt.failures);
}

let loaded: { addon: typeof Binding; choice: AddonChoice } | undefined;

function load() {
  if (loaded === undefined) {
    loaded = loadAddon();
    loaded.addon.setErrorClass(BilevelError as never);
  }
  return loaded;
}

/** The addon, loaded now if it was not yet; a BilevelError (NATIVE) with the fixes when none loads. */
export function loadNative(): typeof Binding {
  return load().addon;
}

/** Which addon file is in use and why (loads it if it was not yet). */
export function addonChoice(): AddonChoice {
  return load().choice;
}

/**
 * The addon, loaded on the first access to any of its members, so that what needs no LibTorch
 * (the CLI's --help, --version, reading configs) works without it and `import 'bilevel'` is cheap.
 */
export const native: typeof Binding = new Proxy({} as typeof Binding, {
  get: (_, member) => Reflect.get(loadNative(), member),
});

// Which native addon files to try, in order, and why each: a build from source, then the prebuilt
// binaries shipped for this platform (CUDA ones first where a GPU is present); BILEVEL_VARIANT
// narrows the choice to one.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BilevelError } from '../errors';

/** What scripts/build-prebuilt.js records beside each prebuilt binary (prebuilds/<platform>-<arch>/<variant>.json). */
export interface PrebuiltManifest {
  /** libtorch<major>.<minor>-<cpu|cuda>, also the binary's name: bilevel.<variant>.node. */
  variant: string;
  /** The LibTorch version it was compiled against; its libraries' names carry major.minor (Debian's sonames). */
  libtorch: string;
  cuda: boolean;
  cxx11Abi: boolean;
  /** The shared libraries it needs (ELF NEEDED entries), for the messages when one is missing. */
  needs: string[];
  /** Where it was built (an os-release name), for bug reports. */
  builtOn: string;
}

export interface AddonCandidate {
  file: string;
  /** 'source' for the build from source, else the prebuilt's variant. */
  variant: string;
  /** Why it is tried (and, once loaded, why it is the one in use). */
  why: string;
  manifest?: PrebuiltManifest;
}

/** What the choice depends on besides the package's files. */
export interface AddonEnvironment {
  /** BILEVEL_VARIANT: 'source' or a prebuilt's variant. */
  variant?: string;
  gpu: boolean;
}

export const SOURCE_VARIANT = 'source';

export const sourceAddonFile = (packageDir: string) => path.join(packageDir, 'build', 'Release', 'bilevel.node');
export const prebuiltDir = (packageDir: string) => path.join(packageDir, 'prebuilds', `${process.platform}-${process.arch}`);

/** The environment this process runs in: BILEVEL_VARIANT, and an NVIDIA driver's presence. */
export function currentEnvironment(): AddonEnvironment {
  const variant = process.env.BILEVEL_VARIANT?.trim();
  return { variant: variant === '' ? undefined : variant, gpu: fs.existsSync('/proc/driver/nvidia/version') };
}

/** The prebuilt binaries shipped for this platform, from their manifests. */
export function prebuiltManifests(packageDir: string): PrebuiltManifest[] {
  const dir = prebuiltDir(packageDir);
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((name) => name.endsWith('.json')).sort()
    .map((name) => JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as PrebuiltManifest);
}

const libtorchMinor = (manifest: PrebuiltManifest) => manifest.libtorch.split('.').slice(0, 2).join('.');

function prebuiltCandidate(packageDir: string, manifest: PrebuiltManifest, why: string): AddonCandidate {
  return { file: path.join(prebuiltDir(packageDir), `bilevel.${manifest.variant}.node`), variant: manifest.variant, why, manifest };
}

/** Why a prebuilt is tried: what it needs, in a user's words. */
function prebuiltReason(manifest: PrebuiltManifest, gpu: boolean): string {
  const needs = `LibTorch ${libtorchMinor(manifest)}${manifest.cuda ? ' with CUDA' : ''}`;
  if (manifest.cuda) return `prebuilt for ${needs}; tried first because a GPU is present`;
  return `prebuilt for ${needs}${gpu ? '; CPU only' : ''}`;
}

/** The addon files to try, in order; a BilevelError (NATIVE) when BILEVEL_VARIANT names nothing shipped. */
export function addonCandidates(packageDir: string, env: AddonEnvironment): AddonCandidate[] {
  const manifests = prebuiltManifests(packageDir);
  const source: AddonCandidate = { file: sourceAddonFile(packageDir), variant: SOURCE_VARIANT, why: 'compiled from source on this machine' };
  if (env.variant === SOURCE_VARIANT) return [{ ...source, why: `${source.why} (BILEVEL_VARIANT=source)` }];
  if (env.variant !== undefined) {
    const chosen = manifests.find((m) => m.variant === env.variant);
    if (chosen === undefined) {
      const shipped = [SOURCE_VARIANT, ...manifests.map((m) => m.variant)].join(', ');
      throw new BilevelError('NATIVE', `bilevel: BILEVEL_VARIANT=${env.variant} names no binary of this package (${process.platform}-${process.arch}: ${shipped})`);
    }
    return [prebuiltCandidate(packageDir, chosen, `${prebuiltReason(chosen, env.gpu)} (BILEVEL_VARIANT=${env.variant})`)];
  }
  // A build from source exists only where someone built it (a checkout, or an install that found no
  // prebuilt to load): it was made for this machine's LibTorch, so it comes first.
  const built = fs.existsSync(source.file) ? [source] : [];
  const usable = manifests.filter((m) => env.gpu || !m.cuda);
  const ordered = [...usable.filter((m) => m.cuda), ...usable.filter((m) => !m.cuda)];
  return [...built, ...ordered.map((m) => prebuiltCandidate(packageDir, m, prebuiltReason(m, env.gpu)))];
}

// Checkpoints of directory runs (DIR/checkpoint.bin): what a checkpoint's meta records, and the
// check that refuses a checkpoint of another config or library version before a run continues from it.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import stableStringify from 'safe-stable-stringify';
import { BilevelError } from '../errors';
import type { RunConfig } from '../run-config';
import type { SolverRun } from '../solver';
import { runVersions, type RunVersions } from './versions';

const CHECKPOINT_FILE = 'checkpoint.bin';

interface CheckpointMeta extends RunVersions {
  /** sha256 of the config without the fields a continuation may change. */
  configHash: string;
  /** UL iterations done when it was written. */
  iteration: number;
}

/** What identifies the computation: everything but how long and how often to record it. */
export function configHash(config: RunConfig): string {
  const { iterations: _iterations, checkpointEvery: _every, metricsEvery: _metrics, $schema: _schema, ...rest } =
    config as RunConfig & { metricsEvery?: number; $schema?: string };
  // Keys sorted at every level, so equal configs hash equally whatever their field order.
  return createHash('sha256').update(stableStringify(rest)).digest('hex');
}

function checkpointMeta(config: RunConfig, iteration: number): string {
  const meta: CheckpointMeta = { ...runVersions(), configHash: configHash(config), iteration };
  return JSON.stringify(meta);
}

/** Parses a checkpoint's meta and refuses one of another config or library version. */
function verifyCheckpoint(metaText: string, config: RunConfig, file: string): CheckpointMeta {
  const versions = runVersions();
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(metaText) as CheckpointMeta;
  } catch {
    throw new BilevelError('INVALID_ARGUMENT', `${file}: not a checkpoint of a bilevel run (its metadata is not JSON)`);
  }
  if (meta.configHash !== configHash(config)) {
    throw new BilevelError('INVALID_ARGUMENT', `${file}: the checkpoint belongs to another config (only iterations, checkpointEvery and metricsEvery may change)`);
  }
  if (meta.bilevel !== versions.bilevel || meta.libtorch !== versions.libtorch) {
    throw new BilevelError(
      'INVALID_ARGUMENT',
      `${file}: written by bilevel ${meta.bilevel} with LibTorch ${meta.libtorch}, this is bilevel ${versions.bilevel} with LibTorch ${versions.libtorch}`,
    );
  }
  if (!Number.isInteger(meta.iteration) || meta.iteration < 0 || meta.iteration > config.iterations) {
    throw new BilevelError('INVALID_ARGUMENT', `${file}: the checkpoint is at iteration ${meta.iteration}, beyond this config's ${config.iterations}`);
  }
  return meta;
}

/** Writes outDir's checkpoint of run, at `iteration` of config. */
export async function saveCheckpoint(run: SolverRun, outDir: string, config: RunConfig, iteration: number): Promise<void> {
  await run.save(path.join(outDir, CHECKPOINT_FILE), checkpointMeta(config, iteration));
}

/**
 * Restores run from outDir's checkpoint, refusing one of another config or library version, and
 * returns the checkpoint's iteration; undefined where there is no checkpoint.
 */
export async function restoreCheckpoint(run: SolverRun, outDir: string, config: RunConfig): Promise<number | undefined> {
  const file = path.join(outDir, CHECKPOINT_FILE);
  if (!fs.existsSync(file)) return undefined;
  return verifyCheckpoint(await run.load(file), config, file).iteration;
}

// Checkpoints of CLI runs: what a checkpoint's meta records, and the check that refuses a
// checkpoint of another config or library version before a run continues from it.
import { createHash } from 'node:crypto';
import stableStringify from 'safe-stable-stringify';
import { BilevelError } from './errors';
import type { RunConfig } from './run-config';

export const CHECKPOINT_FILE = 'checkpoint.bin';

export interface CheckpointMeta {
  bilevel: string;
  libtorch: string;
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

export function checkpointMeta(config: RunConfig, iteration: number, versions: { bilevel: string; libtorch: string }): string {
  const meta: CheckpointMeta = { ...versions, configHash: configHash(config), iteration };
  return JSON.stringify(meta);
}

/** Parses a checkpoint's meta and refuses one of another config or library version. */
export function verifyCheckpoint(
  metaText: string, config: RunConfig, versions: { bilevel: string; libtorch: string }, file: string,
): CheckpointMeta {
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

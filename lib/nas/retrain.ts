// Retraining a genotype from scratch (docs/algorithms.md §14.9), DARTS's train.py recipe as a run
// of the training solver: one UL iteration is one epoch (ceil(trainSize / batchSize) heavyBall
// steps), the weights' lr a cosine over the epochs, the test accuracy evaluated and the run
// checkpointed after each epoch, so a retraining stopped (or killed) continues with `resume`.
import { Type, type Static } from '@sinclair/typebox';
import { LIMITS, validate, type SameType } from '../config';
import type { ProcessGroup } from '../distributed';
import type { FollowOptions } from '../engine/follow-run';
import type { MetricsLine } from '../engine/metrics-log';
import type { FinishedResultFile } from '../engine/result';
import { DeviceSchema, validateRunConfig, type RunConfig } from '../run-config';
import { NasRetrainSchema, type NasRetrainMetrics, type NasRetrainOptions } from '../tasks/nas-retrain';
import type { Device } from '../tensor';
import { followEpochs, runEpochs } from './epoch-run';

const positive = (description: string, defaultValue: number) =>
  Type.Optional(Type.Number({ exclusiveMinimum: 0, default: defaultValue, description }));

/** What a retraining runs, declared once: nas.retrain validates against it, and `bilevel nas retrain` reads it from a file. */
export const NasRetrainRunSchema = Type.Object({
  $schema: Type.Optional(Type.String({ description: 'the JSON Schema of this file, for editors; ignored' })),
  task: Type.Omit(NasRetrainSchema, ['epochs']),
  epochs: Type.Optional(Type.Integer({ minimum: 1, maximum: LIMITS.upperIterations, default: 600, description: 'epochs of training' })),
  lr: positive('the weights\' learning rate at the first epoch, annealed by a cosine to 0 over the epochs', 0.025),
  momentum: Type.Optional(Type.Number({ minimum: 0, exclusiveMaximum: 1, default: 0.9 })),
  weightDecay: Type.Optional(Type.Number({ minimum: 0, default: 3e-4 })),
  gradientClip: positive('the gradient norm each step is clipped to', 5),
  dtype: Type.Optional(Type.Union([Type.Literal('float32'), Type.Literal('float64')], { default: 'float32' })),
  device: Type.Optional(DeviceSchema),
}, { additionalProperties: false });
export type NasRetrainRunConfig = Static<typeof NasRetrainRunSchema>;

/** NasRetrainRunSchema's fields, typed for TypeScript (defaults: DARTS's train.py). */
export interface NasRetrainSettings {
  /** The genotype, data and network (tasks.nasRetrain's options; `seed` seeds the whole retraining). */
  task: Omit<NasRetrainOptions, 'dtype' | 'device' | 'epochs'>;
  /** Epochs of training. @default 600 */
  epochs?: number;
  /** The weights' learning rate at the first epoch, annealed by a cosine to 0 over the epochs. @default 0.025 */
  lr?: number;
  /** @default 0.9 */
  momentum?: number;
  /** @default 3e-4 */
  weightDecay?: number;
  /** The gradient norm each step is clipped to. @default 5 */
  gradientClip?: number;
  /** @default 'float32' */
  dtype?: 'float32' | 'float64';
  /** @default 'cpu' */
  device?: Device;
}

export interface NasRetrainRunOptions extends NasRetrainSettings {
  /** The folder of the run: metrics.jsonl, checkpoint.bin, result.json, report.html. */
  out: string;
  /** Continue the run in `out` from its checkpoint; otherwise `out` must be empty. @default false */
  resume?: boolean;
  /** Stops the retraining after the current epoch; it is checkpointed and can be resumed. */
  signal?: AbortSignal;
  /** Each epoch's record as it ends. */
  onEpoch?: (record: NasRetrainEpochRecord) => void;
  /**
   * Rank 0 of a process group that trains together, each rank on its share of every mini-batch
   * (the others call followRetrain); rank 0 writes `out`.
   */
  processGroup?: ProcessGroup;
}

/** One epoch of a retraining. */
export interface NasRetrainEpochRecord {
  epoch: number;
  /** Solver time of the epoch (its steps and the record's two forwards), metrics excluded. */
  seconds: number;
  /** f at the epoch's last training mini-batch (augmented, drop path, auxiliary term) and F at a test mini-batch. */
  lower: number;
  upper: number;
  /** Test accuracy and loss (batch norms at population statistics) and the network's size. */
  metrics: NasRetrainMetrics;
}

export interface NasRetrainResult {
  epochs: NasRetrainEpochRecord[];
  /** The final test accuracy. */
  testAccuracy: number;
  /** The evaluation network's parameters without the auxiliary head. */
  parameters: number;
  /** The run's result.json. */
  result: FinishedResultFile;
}

const schemaFields: [SameType<Omit<NasRetrainSettings, 'device'>, Omit<NasRetrainRunConfig, 'device' | '$schema'>>] = [true];
void schemaFields;

/** The epoch records of a retraining's metrics lines (one line per epoch). */
export function retrainEpochRecords(lines: readonly MetricsLine[]): NasRetrainEpochRecord[] {
  return lines.filter((line) => line.metrics !== undefined).map((line) => ({
    epoch: line.iteration + 1,
    seconds: (line.unrollMs + line.hypergradientMs + line.updateMs) / 1000,
    lower: line.lower,
    upper: line.upper,
    metrics: line.metrics as NasRetrainMetrics,
  }));
}

/** The run config of a retraining; `where` names the settings in a refusal (nas.retrain, or a file's). */
export function nasRetrainRunConfig(settings: NasRetrainSettings, where = 'nas.retrain'): RunConfig {
  const { $schema: _editorsOnly, ...options } = validate(NasRetrainRunSchema, settings, where);
  const { task } = options;
  const epochs = options.epochs ?? 600;
  const stepsPerEpoch = Math.ceil((task.trainSize ?? 50000) / (task.batchSize ?? 96));
  return validateRunConfig({
    problem: { name: 'nas-retrain', ...task, epochs },
    solver: {
      type: 'training',
      dynamics: {
        type: 'heavyBall', steps: stepsPerEpoch, lr: options.lr ?? 0.025, momentum: options.momentum ?? 0.9,
        weightDecay: options.weightDecay ?? 3e-4, gradientClip: options.gradientClip ?? 5,
      },
      lowerLrSchedule: { type: 'cosine', minimum: 0, epochs, iterationsPerEpoch: 1 },
    },
    iterations: epochs,
    metricsEvery: 1,
    checkpointEvery: 1,
    ...(task.seed === undefined ? {} : { seed: task.seed }),
    ...(options.dtype === undefined ? {} : { dtype: options.dtype }),
    ...(options.device === undefined ? {} : { device: options.device }),
  });
}

/**
 * Trains a genotype's evaluation network from scratch with DARTS's recipe (every setting
 * configurable): per epoch the test accuracy; checkpointed each epoch.
 */
export async function retrain(options: NasRetrainRunOptions): Promise<NasRetrainResult> {
  const { out, resume = false, signal = new AbortController().signal, onEpoch, processGroup, ...settings } = options;
  const config = nasRetrainRunConfig(settings);
  const remedy = 'pass resume: true to continue the retraining there, or another out';
  const { epochs, result } = await runEpochs(config, retrainEpochRecords, { out, resume, signal, onEpoch, remedy, processGroup });
  const final = result.metrics as NasRetrainMetrics;
  return { epochs, testAccuracy: final.testAccuracy, parameters: final.parameters, result };
}

/** A rank other than 0 of a retraining by a process group: rank 0's epochs in step, writing nothing. */
export async function followRetrain(settings: NasRetrainSettings, options: FollowOptions): Promise<void> {
  await followEpochs(nasRetrainRunConfig(settings), options);
}

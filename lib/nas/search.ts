// An architecture search (docs/algorithms.md §14.7): a run config built from a method's name and
// the task's options, run into a folder by the engine (metrics.jsonl, checkpoints, resume), and
// read back as one record per epoch with the genotype of that epoch's alphas.
import { Type, type SchemaOptions, type Static } from '@sinclair/typebox';
import { LIMITS, TrajectorySolverSchema, validate, type SameType } from '../config';
import { Solver } from '../solver';
import type { MetricsLine } from '../engine/metrics-log';
import type { FinishedResultFile } from '../engine/result';
import { DeviceSchema, validateRunConfig, type RunConfig } from '../run-config';
import { NasSchema, type NasMetrics, type NasOptions, type NasSolution } from '../tasks/nas';
import type { Device } from '../tensor';
import type { ProcessGroup } from '../distributed';
import type { FollowOptions } from '../engine/follow-run';
import { followEpochs, runEpochs } from './epoch-run';
import type { Genotype } from './genotype';

/** The search methods of the paper's architecture-search experiment. */
export const nasMethods = ['darts-first-order', 'darts-second-order', 'rhg', 'cg', 'ait'] as const;
export type NasMethod = (typeof nasMethods)[number];

/** DARTS's weight optimizer (SGD, momentum 0.9, weight decay 3e-4, clipping at 5) as LL dynamics. */
const dartsWeights = (steps: number) =>
  ({ type: 'heavyBall', steps, lr: 0.025, momentum: 0.9, weightDecay: 3e-4, gradientClip: 5 });
/** DARTS's architecture optimizer. */
const dartsAlphas = { optimizer: 'adam', lr: 3e-4, beta1: 0.5, beta2: 0.999, weightDecay: 1e-3 };

/**
 * The solver config of a method: DARTS's first and second order take one warm-started LL step;
 * RHG and CG take `lowerSteps`, warm-started; AIT learns the LL start z (IA, z by SGD at the
 * weights' step size) and truncates pessimistically.
 */
export function nasSolverConfig(method: NasMethod, lowerSteps: number): object {
  const warm = (steps: number, hypergradient: object) =>
    ({ dynamics: dartsWeights(steps), hypergradient, upper: dartsAlphas, lowerStart: 'warm' });
  switch (method) {
    case 'darts-first-order': return warm(1, { type: 'firstOrder' });
    case 'darts-second-order': return warm(1, { type: 'finiteDifference', radius: 0.01 });
    case 'rhg': return warm(lowerSteps, { type: 'reverse' });
    case 'cg': return warm(lowerSteps, { type: 'cg', iterations: 10 });
    case 'ait':
      return {
        dynamics: dartsWeights(lowerSteps), hypergradient: { type: 'reverse' }, upper: dartsAlphas,
        initAuxiliary: { optimizer: 'sgd', lr: 0.025 }, truncation: 'pessimistic',
      };
  }
}

const nasMethodSchema = (options: SchemaOptions = {}) => Type.Union([
  Type.Literal('darts-first-order'), Type.Literal('darts-second-order'), Type.Literal('rhg'), Type.Literal('cg'), Type.Literal('ait'),
], options);
export const NasMethodSchema = nasMethodSchema();

/** What a search runs, declared once: nas.search validates against it, and `bilevel nas search` reads it from a file. */
export const NasSearchSchema = Type.Object({
  $schema: Type.Optional(Type.String({ description: 'the JSON Schema of this file, for editors; ignored' })),
  task: Type.Optional(NasSchema),
  method: Type.Optional(nasMethodSchema({ default: 'darts-first-order' })),
  lowerSteps: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 5, description: 'K of rhg, cg and ait' })),
  epochs: Type.Optional(Type.Integer({ minimum: 1, maximum: LIMITS.upperIterations, default: 1 })),
  iterationsPerEpoch: Type.Optional(Type.Integer({ minimum: 1, maximum: LIMITS.upperIterations })),
  dtype: Type.Optional(Type.Union([Type.Literal('float32'), Type.Literal('float64')], { default: 'float32' })),
  device: Type.Optional(DeviceSchema),
}, { additionalProperties: false });
export type NasSearchConfig = Static<typeof NasSearchSchema>;

/** The solver of a method, for stepping a search by hand (run.step() on a tasks.nas problem); no schedule of the weights' lr. */
export function nasSolver(method: NasMethod, lowerSteps = 5): Solver {
  return new Solver(validate(TrajectorySolverSchema, nasSolverConfig(method, lowerSteps), 'nas.solver'));
}

export interface NasSearchOptions extends NasSearchSettings {
  /** The folder of the run: metrics.jsonl, checkpoint.bin, result.json, report.html. */
  out: string;
  /** Continue the run in `out` from its checkpoint; otherwise `out` must be empty. @default false */
  resume?: boolean;
  /** Stops the search after the current iteration; it is checkpointed and can be resumed. */
  signal?: AbortSignal;
  /** Each epoch's record as it ends. */
  onEpoch?: (record: NasEpochRecord) => void;
  /**
   * Rank 0 of a process group that searches together, each rank on its share of every batch (the
   * others call followSearch); rank 0 writes `out`.
   */
  processGroup?: ProcessGroup;
}

/** NasSearchSchema's fields, typed for TypeScript. */
export interface NasSearchSettings {
  /** The data and the supernet (tasks.nas's options; `seed` seeds the whole search). */
  task?: Omit<NasOptions, 'dtype' | 'device'>;
  /** @default 'darts-first-order' */
  method?: NasMethod;
  /** K of rhg, cg and ait. @default 5 */
  lowerSteps?: number;
  /** @default 1 */
  epochs?: number;
  /** UL iterations per epoch. @default ceil(trainSize / batchSize): an epoch draws as many training images as the half holds */
  iterationsPerEpoch?: number;
  /** @default 'float32' */
  dtype?: 'float32' | 'float64';
  /** @default 'cpu' */
  device?: Device;
}

/** One epoch of a search. */
export interface NasEpochRecord {
  /** 1, 2, ...; the last epoch of an interrupted search may be partial (see iterations). */
  epoch: number;
  /** UL iterations in it. */
  iterations: number;
  /** Solver time (unroll, hypergradient, update) summed over its iterations, metrics excluded. */
  seconds: number;
  /** The mean over its iterations of F and f on their mini-batches, and of Kbar (K without PTT). */
  upper: number;
  lower: number;
  kBar: number;
  /** The task's metrics at its end: train, validation and test accuracy and loss, skip connections, entropies. */
  metrics: NasMetrics;
  /** The genotype of its final alphas. */
  genotype: Genotype;
  /** Their softmax over the operations, per edge. */
  alphaSoftmax: NasSolution['alphaSoftmax'];
}

export interface NasSearchResult {
  epochs: NasEpochRecord[];
  /** The final genotype. */
  genotype: Genotype;
  /** The run's result.json. */
  result: FinishedResultFile;
}

const mean = (values: number[]) => values.reduce((s, v) => s + v, 0) / values.length;

/** The epoch records of a search's metrics lines: one per line where the metrics were evaluated. */
export function epochRecords(lines: readonly MetricsLine[], iterationsPerEpoch: number): NasEpochRecord[] {
  const records: NasEpochRecord[] = [];
  let from = 0;
  lines.forEach((line, i) => {
    if (line.metrics === undefined || line.solution === undefined) return;
    const epochLines = lines.slice(from, i + 1);
    from = i + 1;
    const solution = line.solution as NasSolution;
    records.push({
      epoch: Math.ceil((line.iteration + 1) / iterationsPerEpoch),
      iterations: epochLines.length,
      seconds: epochLines.reduce((s, r) => s + r.unrollMs + r.hypergradientMs + r.updateMs, 0) / 1000,
      upper: mean(epochLines.map((r) => r.upper)),
      lower: mean(epochLines.map((r) => r.lower)),
      kBar: mean(epochLines.map((r) => r.steps)),
      metrics: line.metrics as NasMetrics,
      genotype: solution.genotype,
      alphaSoftmax: solution.alphaSoftmax,
    });
  });
  return records;
}

const schemaFields: [SameType<Omit<NasSearchSettings, 'device'>, Omit<NasSearchConfig, 'device' | '$schema'>>, SameType<NasMethod, Static<typeof NasMethodSchema>>] = [true, true];
void schemaFields;

/** The run config of a search; `where` names the settings in a refusal (nas.search, or a file's search). */
export function nasRunConfig(settings: NasSearchSettings, where = 'nas.search'): RunConfig & { metricsEvery: number } {
  const { $schema: _editorsOnly, ...options } = validate(NasSearchSchema, settings, where);
  const task = options.task ?? {};
  const perEpoch = options.iterationsPerEpoch ?? Math.ceil((task.trainSize ?? 25000) / (task.batchSize ?? 64));
  const epochs = options.epochs ?? 1;
  const config = validateRunConfig({
    problem: { name: 'nas', ...task },
    solver: {
      ...nasSolverConfig(options.method ?? 'darts-first-order', options.lowerSteps ?? 5),
      // DARTS's weights' learning rate: a cosine from 0.025 to 0.001 over the search's epochs.
      lowerLrSchedule: { type: 'cosine', minimum: 0.001, epochs, iterationsPerEpoch: perEpoch },
    },
    iterations: epochs * perEpoch,
    metricsEvery: perEpoch,
    checkpointEvery: perEpoch,
    ...(task.seed === undefined ? {} : { seed: task.seed }),
    ...(options.dtype === undefined ? {} : { dtype: options.dtype }),
    ...(options.device === undefined ? {} : { device: options.device }),
  });
  return { ...config, metricsEvery: perEpoch };
}

/**
 * Searches the DARTS space with one of the paper's methods: per epoch the task's metrics, the
 * genotype and the alphas' softmax; checkpointed each epoch, so a search stopped by `signal` (or
 * killed) continues with `resume`.
 */
export async function search(options: NasSearchOptions): Promise<NasSearchResult> {
  const { out, resume = false, signal = new AbortController().signal, onEpoch, processGroup, ...settings } = options;
  const config = nasRunConfig(settings);
  const remedy = 'pass resume: true to continue the search there, or another out';
  const { epochs, result } = await runEpochs(config, (lines) => epochRecords(lines, config.metricsEvery),
    { out, resume, signal, onEpoch, remedy, processGroup });
  // The engine evaluates the metrics, and with them the solution, at every run's end.
  return { epochs, genotype: (result.solution as NasSolution).genotype, result };
}

/** A rank other than 0 of a search by a process group: rank 0's iterations in step, writing nothing. */
export async function followSearch(settings: NasSearchSettings, options: FollowOptions): Promise<void> {
  await followEpochs(nasRunConfig(settings), options);
}

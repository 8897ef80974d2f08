// Learning tasks built into the core: their data never crosses into JavaScript.
import * as fs from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import type { NativeHyperCleaningOptions } from '../binding';
import { native } from './binding';
import { validate } from './config';
import { BilevelError } from './errors';
import { Problem } from './problem';
import type { Device } from './tensor';

const strict = { additionalProperties: false } as const;
const count = (description: string) => Type.Optional(Type.Integer({ minimum: 1, description }));

/**
 * The options of data hyper-cleaning, declared once: the TypeScript API validates against it and a
 * run config's `problem` is `{ name: 'hyper-cleaning', ...these }` (lib/run-config.ts).
 */
export const HyperCleaningSchema = Type.Object(
  {
    dataset: Type.Optional(Type.Union([Type.Literal('fashion-mnist'), Type.Literal('mnist'), Type.Literal('cifar10')], {
      description: 'the dataset: IDX files (fashion-mnist, the default; mnist) or CIFAR-10 binary batches (cifar10)',
    })),
    root: Type.Optional(Type.String({
      minLength: 1,
      description: 'the folder with the dataset\'s files, gzipped or raw (in a run config: relative to the config file); '
        + 'default $BILEVEL_FASHION_MNIST or /usr/share/datasets/fashion-mnist (Debian\'s dataset-fashion-mnist), '
        + '$BILEVEL_MNIST, $BILEVEL_CIFAR10. Nothing is ever downloaded',
    })),
    model: Type.Optional(Type.Union([Type.Literal('linear'), Type.Literal('mlp')], {
      description: 'the LL model: linear (convex LL, the default) or mlp (input-hidden-10 with ReLU, non-convex LL)',
    })),
    hidden: count('hidden units of the mlp (default 300)'),
    trainSize: count('training samples (default 5000, the paper\'s)'),
    validationSize: count('validation samples (default 5000)'),
    testSize: count('test samples (default 10000)'),
    corruption: Type.Optional(Type.Number({
      minimum: 0, maximum: 1, description: 'the share of training labels moved to a different random class (default 0.5)',
    })),
    batchSize: Type.Optional(Type.Integer({
      minimum: 0,
      description: 'mini-batches: f on this many training samples drawn (with replacement) at each evaluation from the '
        + 'global generator (manualSeed; checkpoints save its state); default 0: the full batch',
    })),
    seed: Type.Optional(Type.Integer({
      minimum: 0,
      description: 'seeds the split, the corruption and the mlp\'s initialization (default 0; in a run config: the run\'s seed)',
    })),
  },
  strict,
);

/** See each field's description in HyperCleaningSchema; dtype and device as for tensors. */
export type HyperCleaningOptions = Static<typeof HyperCleaningSchema> & { dtype?: 'float32' | 'float64'; device?: Device };
export type HyperCleaningDataset = NonNullable<HyperCleaningOptions['dataset']>;
/** The dataset when none is named. */
export const defaultDataset: HyperCleaningDataset = 'fashion-mnist';

// The schema's words are the native module's (binding.d.ts): a compile error if they drift apart.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const sameWords: Same<HyperCleaningDataset, NativeHyperCleaningOptions['dataset']> &
  Same<HyperCleaningOptions['model'], NativeHyperCleaningOptions['model']> = true;
void sameWords;

const defaultRoots: Record<HyperCleaningDataset, { variable: string; fallback?: string }> = {
  'fashion-mnist': { variable: 'BILEVEL_FASHION_MNIST', fallback: '/usr/share/datasets/fashion-mnist' },
  mnist: { variable: 'BILEVEL_MNIST' },
  cifar10: { variable: 'BILEVEL_CIFAR10' },
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
        (dataset === 'fashion-mnist' ? ' (Debian: sudo apt-get install dataset-fashion-mnist)' : ''),
    );
  }
  return found;
}

/**
 * Data hyper-cleaning (ALGORITHMS.md section 8): x = one logit per training sample, y = the
 * classifier; f = mean of sigmoid(x_i) CE_i over the training split, F = mean CE on validation.
 * metrics(): testAccuracy, precision, recall and f1 of clean-sample detection (x_i >= 0), validationLoss.
 */
function hyperCleaning(options: HyperCleaningOptions = {}): Problem {
  const { dtype, device, ...taskOptions } = options;
  validate(HyperCleaningSchema, taskOptions, 'hyperCleaning');
  const dataset = options.dataset ?? defaultDataset;
  const handle = native.createHyperCleaningProblem({
    ...taskOptions,
    dataset,
    root: datasetRoot(dataset, options.root),
    dtype: dtype ?? 'float32',
    device: device ?? 'cpu',
  });
  return new Problem(handle, 'hyper-cleaning');
}

export const tasks = { hyperCleaning };

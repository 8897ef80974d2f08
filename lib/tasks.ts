// Learning tasks built into the core: their data never crosses into JavaScript.
import * as fs from 'node:fs';
import type { NativeHyperCleaningOptions } from '../binding';
import { native } from './binding';
import { BilevelError } from './errors';
import { Problem } from './problem';
import type { Device } from './tensor';

export type HyperCleaningDataset = NativeHyperCleaningOptions['dataset'];

export interface HyperCleaningOptions {
  /** Default 'fashion-mnist'. */
  dataset?: HyperCleaningDataset;
  /**
   * The folder with the dataset's files (IDX, gzipped or raw; CIFAR-10 binary batches). Default:
   * $BILEVEL_FASHION_MNIST or /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist),
   * $BILEVEL_MNIST, $BILEVEL_CIFAR10. Nothing is ever downloaded.
   */
  root?: string;
  /** 'linear' (convex LL, the default) or 'mlp' (input-hidden-10 with ReLU, non-convex LL). */
  model?: NativeHyperCleaningOptions['model'];
  /** Hidden units of the mlp (default 300). */
  hidden?: number;
  /** Split sizes (defaults 5000 / 5000 / 10000, the paper's). */
  trainSize?: number;
  validationSize?: number;
  testSize?: number;
  /** The share of training labels moved to a different random class (default 0.5). */
  corruption?: number;
  /**
   * Mini-batches: f on this many training samples drawn (with replacement) at each evaluation, from
   * the global generator (manualSeed; checkpoints save its state). Default 0: the full batch.
   */
  batchSize?: number;
  /** Seeds the split, the corruption and the mlp's initialization (default 0). */
  seed?: number;
  dtype?: 'float32' | 'float64';
  device?: Device;
}

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
  const dataset = options.dataset ?? 'fashion-mnist';
  const handle = native.createHyperCleaningProblem({
    ...options,
    dataset,
    root: datasetRoot(dataset, options.root),
    dtype: options.dtype ?? 'float32',
    device: options.device ?? 'cpu',
  });
  return new Problem(handle, 'hyper-cleaning');
}

export const tasks = { hyperCleaning };

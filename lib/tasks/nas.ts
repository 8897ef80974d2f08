// Architecture search in the DARTS space (docs/algorithms.md §14.6), built into the core: the
// search network, its data and both objectives stay native.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import type { NativeNasOptions } from '../../binding';
import { native } from '../binding';
import { validate, type SameType } from '../config';
import { BilevelError } from '../errors';
import { Problem } from '../problem';
import { deriveGenotype, type Genotype } from '../nas/genotype';
import type { Device, Tensor } from '../tensor';
import { configTask, problemMember, type TaskSolution } from './config-task';
import { configDataRoot, datasetRoot } from './hyper-cleaning';

const strict = { additionalProperties: false } as const;
const MAX_SAMPLES = 1_000_000;
const count = (description: string, maximum: number, defaultValue: number) =>
  Type.Optional(Type.Integer({ minimum: 1, maximum, default: defaultValue, description }));

/** The options of the NAS task, declared once: the API validates against it; a run config's `problem` is `{ name: 'nas', ...these }`. */
export const NasSchema = Type.Object(
  {
    dataset: Type.Optional(Type.Union([Type.Literal('fashion-mnist'), Type.Literal('cifar10'), Type.Literal('folders')], {
      default: 'fashion-mnist',
      description: 'Fashion-MNIST IDX files (padded to 32 x 32; the default), CIFAR-10 binary batches, or image folders '
        + '(root/train/<class>/*.png|jpg and root/test/<class>/..., RGB resized to 32 x 32)',
    })),
    root: Type.Optional(Type.String({
      minLength: 1,
      description: 'the folder with the dataset\'s files (in a run config: relative to the config file); default '
        + '$BILEVEL_FASHION_MNIST or /usr/share/datasets/fashion-mnist, $BILEVEL_CIFAR10; required for folders. Nothing is ever downloaded',
    })),
    channels: count('C: channels of the search network\'s first cells, doubled at each reduction', 1024, 16),
    cells: count('cells of the search network (reductions at a third and two thirds)', 64, 8),
    nodes: count('intermediate nodes per cell', 16, 4),
    trainSize: count('training images f draws its mini-batches from (the first half of DARTS\'s split)', MAX_SAMPLES, 25000),
    validationSize: count('the next training images, which F draws from', MAX_SAMPLES, 25000),
    testSize: count('test images metrics() classifies', MAX_SAMPLES, 10000),
    metricsSize: count('images of each half (the first ones) metrics() also scores', MAX_SAMPLES, 10000),
    batchSize: count('images per LL step and per UL iteration, each a fresh draw (with replacement)', MAX_SAMPLES, 64),
    seed: Type.Optional(Type.Integer({
      minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0,
      description: 'seeds the split, the network\'s and alphas\' start and the mini-batches (in a run config: the run\'s seed)',
    })),
  },
  strict,
);

/** The options of tasks.nas: NasSchema's fields, with dtype and device as for tensors. */
export interface NasOptions {
  /**
   * Fashion-MNIST IDX files (padded to 32 x 32), CIFAR-10 binary batches, or image folders
   * (root/train/<class>/*.png|jpg and root/test/<class>/..., RGB resized to 32 x 32). @default 'fashion-mnist'
   */
  dataset?: 'fashion-mnist' | 'cifar10' | 'folders';
  /**
   * The folder with the dataset's files (in a run config: relative to the config file); required for folders. Nothing is ever downloaded.
   * @default $BILEVEL_FASHION_MNIST or /usr/share/datasets/fashion-mnist; $BILEVEL_CIFAR10
   */
  root?: string;
  /** C: channels of the search network's first cells, doubled at each reduction. @default 16 */
  channels?: number;
  /** Cells of the search network (reductions at a third and two thirds). @default 8 */
  cells?: number;
  /** Intermediate nodes per cell. @default 4 */
  nodes?: number;
  /** Training images f draws its mini-batches from (the first half of DARTS's split). @default 25000 */
  trainSize?: number;
  /** The next training images, which F draws from. @default 25000 */
  validationSize?: number;
  /** Test images metrics() classifies. @default 10000 */
  testSize?: number;
  /** Images of each half (the first ones) metrics() also scores. @default 10000 */
  metricsSize?: number;
  /** Images per LL step and per UL iteration, each a fresh draw (with replacement). @default 64 */
  batchSize?: number;
  /** Seeds the split, the network's and alphas' start and the mini-batches. @default 0 */
  seed?: number;
  /** @default 'float32' */
  dtype?: 'float32' | 'float64';
  /** @default 'cpu' */
  device?: Device;
}
export type NasDataset = NonNullable<NasOptions['dataset']>;

/** What the NAS task's metrics() returns at (x, y) = (alphas, weights). */
export type NasMetrics = {
  /** The search network's accuracy on the training half f draws from (batch norms on each batch of 256). */
  trainAccuracy: number;
  /** Its mean cross-entropy there. */
  trainLoss: number;
  /** Its accuracy on the validation half F draws from. */
  validationAccuracy: number;
  /** Its mean cross-entropy there. */
  validationLoss: number;
  /** Its accuracy on the test images. */
  testAccuracy: number;
  /** Its mean cross-entropy there. */
  testLoss: number;
  /** Skip connections among the derived normal cell's edges: DARTS's collapse shows as this count growing. */
  normalSkipConnections: number;
  /** The mean entropy (nats) of each normal edge's softmax over the operations: ln 8 = 2.079 at the start. */
  normalAlphaEntropy: number;
  /** The same for the reduction cell. */
  reduceAlphaEntropy: number;
};

const schemaFields: [
  SameType<Omit<NasOptions, 'dtype' | 'device'>, Static<typeof NasSchema>>,
  SameType<NasDataset, NonNullable<NativeNasOptions['dataset']>>,
] = [true, true];
void schemaFields;

/** The data folder: for image folders the root given (required), else the dataset's as hyper-cleaning finds it. */
export function nasRoot(dataset: NasDataset, root?: string): string {
  if (dataset !== 'folders') return datasetRoot(dataset, root);
  if (root === undefined || !fs.existsSync(root)) {
    throw new BilevelError('INVALID_ARGUMENT', `folders: no data folder${root === undefined ? '' : ` at ${root}`}; `
      + 'pass root: a folder with train/ and test/, one subfolder of images per class');
  }
  return root;
}

/**
 * NAS in the DARTS space (docs/algorithms.md §14.6): x = [alpha.normal, alpha.reduce], y = the
 * search network's weights; f = cross-entropy on a training mini-batch per LL step, F on a
 * validation mini-batch per UL iteration. DARTS's LL is heavyBall dynamics, warm-started.
 */
export async function nas(options: NasOptions = {}): Promise<Problem<NasMetrics>> {
  const { dtype, device, ...taskOptions } = options;
  validate(NasSchema, taskOptions, 'nas');
  const dataset = options.dataset ?? 'fashion-mnist';
  const handle = await native.createTask('nas', { ...taskOptions, dataset, root: nasRoot(dataset, options.root) }, {
    dtype: dtype ?? 'float32',
    device: device ?? 'cpu',
  });
  return new Problem<NasMetrics>(handle, 'nas');
}

/** What a search's x says: the derived genotype and each edge's softmax over the operations. */
export interface NasSolution extends TaskSolution {
  genotype: Genotype;
  /** softmax(alpha) of each edge (rows) over the operations in operationNames' order (columns). */
  alphaSoftmax: { normal: number[][]; reduce: number[][] };
}

const softmaxRows = (alpha: Tensor): number[][] => (alpha.toNested() as number[][]).map((row) => {
  const top = Math.max(...row);
  const e = row.map((a) => Math.exp(a - top));
  const total = e.reduce((s, v) => s + v, 0);
  return e.map((v) => v / total);
});

/** The genotype and the alphas' softmax of x = [alpha.normal, alpha.reduce] for cells of `nodes` nodes. */
export function nasSolution(x: readonly Tensor[], nodes = 4): NasSolution {
  return { genotype: deriveGenotype(x, { nodes }), alphaSoftmax: { normal: softmaxRows(x[0]), reduce: softmaxRows(x[1]) } };
}

/** A run config's data folder: relative to the config; image folders need it, the other datasets default as hyper-cleaning's. */
export function configNasRoot(root: string | undefined, dataset: NasDataset, configDir: string): string {
  if (dataset !== 'folders') return configDataRoot(root, dataset, configDir);
  try {
    return nasRoot(dataset, root === undefined ? undefined : path.resolve(configDir, root));
  } catch (err) {
    throw new BilevelError('INVALID_ARGUMENT', `problem.root: ${(err as Error).message}`, err as Error);
  }
}

/** A run config's `problem: { name: 'nas', ...NasOptions }`. */
export const nasConfigTask = configTask({
  schema: problemMember('nas', NasSchema.properties, 'architecture search in the DARTS space ([algorithms.md](algorithms.md) §14.6; `tasks.nas`)'),
  seeded: true,
  metrics: true,
  solution: ({ nodes }, x) => nasSolution(x, nodes),
  create: ({ name: _name, root, ...options }, { dtype, device, configDir }) =>
    nas({ ...options, root: configNasRoot(root, options.dataset ?? 'fashion-mnist', configDir), dtype, device }),
});

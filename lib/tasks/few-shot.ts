// Few-shot classification (docs/algorithms.md §13), built into the core: episodes of the offline
// pair-composite benchmark or of image files on disk; a ConvNet-4 or ResNet-12 backbone as x and one linear head per task as y, or MAML's
// layout (x = the network's initialization, y = each task's offset from it).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import type { NativeFewShotOptions } from '../../binding';
import { native } from '../binding';
import { validate, type SameType } from '../config';
import { BilevelError } from '../errors';
import { Problem } from '../problem';
import type { Device } from '../tensor';
import { configTask, problemMember } from './config-task';
import { configDataRoot, datasetRoot, type HyperCleaningDataset } from './hyper-cleaning';

const strict = { additionalProperties: false } as const;
/** The datasets the few-shot task reads (docs/algorithms.md §13.1). */
export const FEW_SHOT_DATASETS = ['double-mnist', 'double-fashion-mnist', 'idx', 'folders', 'omniglot', 'mini-imagenet'] as const;
export type FewShotDataset = (typeof FEW_SHOT_DATASETS)[number];
const MAX_SAMPLES = 1_000_000;
const integer = (minimum: number, maximum: number, defaultValue: number, description: string) =>
  Type.Optional(Type.Integer({ minimum, maximum, default: defaultValue, description }));

/** The options of the few-shot task, declared once: the API validates against it; a run config's `problem` is `{ name: 'few-shot', ...these }`. */
export const FewShotSchema = Type.Object(
  {
    dataset: Type.Optional(Type.Union(FEW_SHOT_DATASETS.map((name) => Type.Literal(name)), {
      default: 'double-mnist',
      description: 'double-mnist / double-fashion-mnist: the offline benchmark, 100 pair-composite classes "00".."99" (split 64 / 16 / 20) '
        + 'made of MNIST digits or Fashion-MNIST items, test classes from the held-out test images; idx: the ten labels of an IDX '
        + 'folder, five for training and five for test by the seed; folders: root/train/<class>/<image> and root/test/<class>/<image> '
        + '(PNG or JPEG, RGB); omniglot: root/images_background (training) and root/images_evaluation (test), '
        + '<alphabet>/<character>/<image>, gray; mini-imagenet: root/images/<file> with Ravi and Larochelle\'s root/train.csv and '
        + 'root/test.csv (filename,label), RGB',
    })),
    root: Type.Optional(Type.String({
      minLength: 1,
      description: 'the dataset\'s folder (in a run config: relative to the config file). double-mnist, double-fashion-mnist and idx '
        + 'default to hyper-cleaning\'s mnist / fashion-mnist folders (idx: mnist); the others need it. Nothing is ever downloaded',
    })),
    cacheDir: Type.Optional(Type.String({
      description: 'where decoded image files (folders, omniglot, mini-imagenet) are kept so that a second load reads one file; '
        + 'default $XDG_CACHE_HOME/bilevel or ~/.cache/bilevel (in a run config: relative to the config file); "" keeps nothing',
    })),
    imagesPerClass: integer(2, MAX_SAMPLES, 200, 'composite images per class (double-mnist, double-fashion-mnist)'),
    imageSize: integer(16, 512, 28, 'images are resized to imageSize x imageSize (IDX sources: area average; image files: bilinear, '
      + 'antialiased when shrinking)'),
    ways: integer(2, 1000, 5, 'classes per episode, N'),
    shots: integer(1, 1000, 1, 'support images per class, K'),
    queries: integer(1, 1000, 15, 'query images per class'),
    metaBatch: integer(1, 1000, 4, 'training episodes per UL iteration, one head each'),
    backbone: Type.Optional(Type.Union([Type.Literal('convnet4'), Type.Literal('resnet12')], {
      default: 'convnet4',
      description: 'convnet4: four blocks of conv 3x3, batch norm, ReLU, max pool; resnet12: four residual blocks of three conv 3x3 '
        + 'with batch norm and leaky ReLU 0.1, a 1x1 shortcut, max pool (MetaOptNet\'s, flattened features)',
    })),
    channels: integer(1, 1024, 32, 'filters of the backbone\'s blocks: every block\'s for convnet4; channels x (1, 2.5, 5, 10) for '
      + 'resnet12\'s four (64: the usual 64, 160, 320, 640)'),
    layout: Type.Optional(Type.Union([Type.Literal('heads'), Type.Literal('maml')], {
      default: 'heads',
      description: 'heads: x = the backbone, y = one linear head per task, from zero (features computed once per iteration); '
        + 'maml: x = the initialization of the whole network (backbone and head), y = each task\'s offset from it, from zero '
        + '(the LL is MAML\'s inner loop)',
    })),
    regularizer: Type.Optional(Type.Union([Type.Literal('none'), Type.Literal('lq'), Type.Literal('smoothed-lq')], {
      default: 'none',
      description: 'added to f for each task\'s head: lq = weight ||head||_q (the paper\'s); smoothed-lq = weight '
        + '(||w||_2 + ||epsilon 1||_2)^(q/2) per head tensor w (the authors\' code)',
    })),
    regularizerWeight: Type.Optional(Type.Number({ minimum: 0, default: 0.25, description: 'the regularizer\'s weight' })),
    regularizerQ: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.5, description: 'the regularizer\'s q' })),
    regularizerEpsilon: Type.Optional(Type.Number({ exclusiveMinimum: 0, default: 0.1, description: 'smoothed-lq\'s epsilon' })),
    evaluationEpisodes: integer(1, MAX_SAMPLES, 600, 'test episodes of metrics()'),
    adaptSteps: integer(0, 100_000, 10, 'gd steps on a test episode\'s y (its head; its offsets under maml), from zero, in metrics(): as the LL dynamics'),
    adaptLr: Type.Optional(Type.Number({ exclusiveMinimum: 0, default: 0.1, description: 'the step size of those steps: as the LL dynamics' })),
    seed: integer(0, Number.MAX_SAFE_INTEGER, 0, 'seeds the benchmark, the backbone\'s start and the episodes (in a run config: the run\'s seed)'),
  },
  strict,
);

/** The options of tasks.fewShot: FewShotSchema's fields, with dtype and device as for tensors. */
export interface FewShotOptions {
  /**
   * double-mnist / double-fashion-mnist: the offline benchmark (pair composites of MNIST digits or
   * Fashion-MNIST items); idx: an IDX folder's ten labels split five / five by the seed; folders:
   * root/train/<class>/<image> and root/test/<class>/<image>; omniglot: images_background and
   * images_evaluation; mini-imagenet: root/images with root/train.csv and root/test.csv.
   * @default 'double-mnist'
   */
  dataset?: FewShotDataset;
  /** The dataset's folder. @default hyper-cleaning's mnist / fashion-mnist folder (IDX sources); required for the others */
  root?: string;
  /** Where decoded image files are kept ("" keeps nothing). @default $XDG_CACHE_HOME/bilevel or ~/.cache/bilevel */
  cacheDir?: string;
  /** Composite images per class (double-mnist, double-fashion-mnist). @default 200 */
  imagesPerClass?: number;
  /** Images are resized to imageSize x imageSize. @default 28 */
  imageSize?: number;
  /** Classes per episode, N. @default 5 */
  ways?: number;
  /** Support images per class, K. @default 1 */
  shots?: number;
  /** Query images per class. @default 15 */
  queries?: number;
  /** Training episodes per UL iteration, one head each. @default 4 */
  metaBatch?: number;
  /**
   * convnet4: four blocks of conv 3x3, batch norm, ReLU, max pool; resnet12: four residual blocks
   * of three conv 3x3 with batch norm and leaky ReLU 0.1, a 1x1 shortcut, max pool. @default 'convnet4'
   */
  backbone?: 'convnet4' | 'resnet12';
  /** Filters of the backbone's blocks: every block's for convnet4; channels x (1, 2.5, 5, 10) for resnet12's four. @default 32 */
  channels?: number;
  /**
   * heads: x = the backbone, y = one linear head per task, from zero; maml: x = the initialization
   * of the whole network, y = each task's offset from it, from zero (the LL is MAML's inner loop).
   * @default 'heads'
   */
  layout?: 'heads' | 'maml';
  /**
   * Added to f for each task's head: lq = weight ||head||_q (the paper's); smoothed-lq =
   * weight (||w||_2 + ||epsilon 1||_2)^(q/2) per head tensor w (the authors' code). @default 'none'
   */
  regularizer?: 'none' | 'lq' | 'smoothed-lq';
  /** The regularizer's weight. @default 0.25 */
  regularizerWeight?: number;
  /** The regularizer's q, in (0, 1]. @default 0.5 */
  regularizerQ?: number;
  /** smoothed-lq's epsilon. @default 0.1 */
  regularizerEpsilon?: number;
  /** Test episodes of metrics(). @default 600 */
  evaluationEpisodes?: number;
  /** Gd steps on a test episode's y (its head; its offsets under maml), from zero, in metrics(): as the LL dynamics. @default 10 */
  adaptSteps?: number;
  /** The step size of those steps: as the LL dynamics. @default 0.1 */
  adaptLr?: number;
  /** Seeds the benchmark, the backbone's start and the episodes. @default 0 */
  seed?: number;
  /** @default 'float32' */
  dtype?: 'float32' | 'float64';
  /** @default 'cpu' */
  device?: Device;
}

/** What the few-shot task's metrics() returns at (x, y): accuracy on held-out test episodes. */
export type FewShotMetrics = {
  /** Mean query accuracy over the test episodes, each head adapted from zero on its support set. */
  testAccuracy: number;
  /** Half-width of the 95% confidence interval of testAccuracy: 1.96 std / sqrt(n). */
  testConfidence95: number;
  /** The standard deviation of the episodes' accuracies (n - 1 in the denominator). */
  testStd: number;
  /** n, the test episodes. */
  testEpisodes: number;
};

/** What metrics(values, settings) may change, for that call: each defaults to the task's own option. */
export const FewShotEvaluationSchema = Type.Object(
  {
    episodes: integer(1, MAX_SAMPLES, 600, 'test episodes 0 .. episodes - 1 (the task\'s evaluationEpisodes)'),
    adaptSteps: integer(0, 100_000, 10, 'gd steps adapting each episode\'s y from its start (the task\'s adaptSteps)'),
    adaptLr: Type.Optional(Type.Number({ exclusiveMinimum: 0, default: 0.1, description: 'their step size (the task\'s adaptLr)' })),
  },
  strict,
);
export type FewShotEvaluation = Static<typeof FewShotEvaluationSchema>;

const schemaFields: [
  SameType<Omit<FewShotOptions, 'dtype' | 'device'>, Static<typeof FewShotSchema>>,
  SameType<Omit<FewShotOptions, 'dtype' | 'device' | 'root'>, Omit<NativeFewShotOptions, 'root'>>,
] = [true, true];
void schemaFields;

/** The IDX source of the datasets made from IDX files, whose root defaults to hyper-cleaning's folders. */
const idxSources: Partial<Record<FewShotDataset, HyperCleaningDataset>> = {
  'double-mnist': 'mnist',
  'double-fashion-mnist': 'fashion-mnist',
  idx: 'mnist',
};

/** Where decoded images are kept unless cacheDir says otherwise: the XDG cache folder. */
export function defaultCacheDir(): string {
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'bilevel');
}

function dataRoot(dataset: FewShotDataset, root: string | undefined): string {
  const source = idxSources[dataset];
  if (source !== undefined) return datasetRoot(source, root);
  if (root === undefined) throw new BilevelError('INVALID_ARGUMENT', `root: the ${dataset} dataset needs its folder (nothing is downloaded)`);
  if (!fs.existsSync(root)) throw new BilevelError('INVALID_ARGUMENT', `root: no such folder: ${root}`);
  return root;
}

/**
 * Few-shot classification (docs/algorithms.md §13): x = a ConvNet-4 or ResNet-12 backbone, y = one
 * linear head per task of the meta-batch ({W [B, N, D], b [B, N]}), or MAML's layout; f sums the
 * support cross-entropies, F the query ones; each UL iteration draws its own training episodes.
 * metrics(): accuracy on test episodes.
 */
export async function fewShot(options: FewShotOptions = {}): Promise<Problem<FewShotMetrics, FewShotEvaluation>> {
  const { dtype, device, ...taskOptions } = options;
  validate(FewShotSchema, taskOptions, 'fewShot');
  const dataset = options.dataset ?? 'double-mnist';
  // "" keeps nothing: the core reads an absent cacheDir that way.
  const cacheDir = options.cacheDir === '' ? undefined : (options.cacheDir ?? defaultCacheDir());
  const nativeOptions = { ...taskOptions, dataset, root: dataRoot(dataset, options.root), cacheDir };
  // The files are read (and decoded, or the composites made) on a worker thread.
  const handle = await native.createTask('few-shot', nativeOptions, { dtype: dtype ?? 'float32', device: device ?? 'cpu' });
  return new Problem<FewShotMetrics, FewShotEvaluation>(handle, 'few-shot');
}

/** A run config's `problem: { name: 'few-shot', ...FewShotOptions }`. */
export const fewShotConfigTask = configTask({
  schema: problemMember('few-shot', FewShotSchema.properties, 'few-shot classification ([algorithms.md](algorithms.md) §13; `tasks.fewShot`)'),
  seeded: true,
  metrics: true,
  create: ({ name: _name, root, cacheDir, ...options }, { dtype, device, configDir }) => {
    const source = idxSources[options.dataset ?? 'double-mnist'];
    const inConfigDir = (given?: string) => (given === undefined || given === '' ? given : path.resolve(configDir, given));
    const dataFolder = source === undefined ? inConfigDir(root) : configDataRoot(root, source, configDir);
    return fewShot({ ...options, root: dataFolder, cacheDir: inConfigDir(cacheDir), dtype, device });
  },
});

// Few-shot classification (docs/algorithms.md §13), built into the core: episodes of the offline
// pair-composite benchmark; a ConvNet-4 or ResNet-12 backbone as x and one linear head per task as y, or MAML's
// layout (x = the network's initialization, y = each task's offset from it).
import { Type, type Static } from '@sinclair/typebox';
import type { NativeFewShotOptions } from '../../binding';
import { native } from '../binding';
import { validate, type SameType } from '../config';
import { Problem } from '../problem';
import type { Device } from '../tensor';
import { configTask, problemMember } from './config-task';
import { configDataRoot, datasetRoot, type HyperCleaningDataset } from './hyper-cleaning';

const strict = { additionalProperties: false } as const;
const MAX_SAMPLES = 1_000_000;
const integer = (minimum: number, maximum: number, defaultValue: number, description: string) =>
  Type.Optional(Type.Integer({ minimum, maximum, default: defaultValue, description }));

/** The options of the few-shot task, declared once: the API validates against it; a run config's `problem` is `{ name: 'few-shot', ...these }`. */
export const FewShotSchema = Type.Object(
  {
    dataset: Type.Optional(Type.Union([Type.Literal('double-mnist'), Type.Literal('double-fashion-mnist')], {
      default: 'double-mnist',
      description: 'the offline benchmark: 100 pair-composite classes "00".."99" (split 64 / 16 / 20) made of MNIST digits '
        + '(double-mnist, the default) or Fashion-MNIST items (double-fashion-mnist); test classes from the held-out test images',
    })),
    root: Type.Optional(Type.String({
      minLength: 1,
      description: 'the folder with the source\'s IDX files (in a run config: relative to the config file); default as hyper-cleaning\'s '
        + 'mnist / fashion-mnist folders. Nothing is ever downloaded',
    })),
    imagesPerClass: integer(2, MAX_SAMPLES, 200, 'composite images per class'),
    imageSize: integer(16, 512, 28, 'images are resized (area average) to imageSize x imageSize'),
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
  /** The offline benchmark: pair composites of MNIST digits or of Fashion-MNIST items. @default 'double-mnist' */
  dataset?: 'double-mnist' | 'double-fashion-mnist';
  /** The folder with the source's IDX files. @default hyper-cleaning's mnist / fashion-mnist folder */
  root?: string;
  /** Composite images per class. @default 200 */
  imagesPerClass?: number;
  /** Images are resized (area average) to imageSize x imageSize. @default 28 */
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

/** The IDX source of each benchmark. */
const sources: Record<NonNullable<FewShotOptions['dataset']>, HyperCleaningDataset> = {
  'double-mnist': 'mnist',
  'double-fashion-mnist': 'fashion-mnist',
};

/**
 * Few-shot classification (docs/algorithms.md §13): x = a ConvNet-4 backbone, y = one linear head
 * per task of the meta-batch ({W [B, N, D], b [B, N]}); f sums the support cross-entropies, F the
 * query ones; each UL iteration draws its own training episodes. metrics(): accuracy on test episodes.
 */
export async function fewShot(options: FewShotOptions = {}): Promise<Problem<FewShotMetrics, FewShotEvaluation>> {
  const { dtype, device, ...taskOptions } = options;
  validate(FewShotSchema, taskOptions, 'fewShot');
  const dataset = options.dataset ?? 'double-mnist';
  // The IDX files are read and the composites made on a worker thread.
  const handle = await native.createTask('few-shot', { ...taskOptions, dataset, root: datasetRoot(sources[dataset], options.root) }, {
    dtype: dtype ?? 'float32',
    device: device ?? 'cpu',
  });
  return new Problem<FewShotMetrics, FewShotEvaluation>(handle, 'few-shot');
}

/** A run config's `problem: { name: 'few-shot', ...FewShotOptions }`. */
export const fewShotConfigTask = configTask({
  schema: problemMember('few-shot', FewShotSchema.properties, 'few-shot classification ([algorithms.md](algorithms.md) §13; `tasks.fewShot`)'),
  seeded: true,
  metrics: true,
  create: ({ name: _name, root, ...options }, { dtype, device, configDir }) =>
    fewShot({ ...options, root: configDataRoot(root, sources[options.dataset ?? 'double-mnist'], configDir), dtype, device }),
});

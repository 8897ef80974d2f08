// Retraining a genotype from scratch (docs/algorithms.md §14.9): the evaluation network of a
// genotype trained on its own, natively, as a problem for the training solver (Solver.training).
import { Type, type Static } from '@sinclair/typebox';
import type { NativeNasRetrainOptions } from '../../binding';
import { native } from '../binding';
import { validate, type SameType } from '../config';
import { Problem } from '../problem';
import { GenotypeSchema, type Genotype } from '../nas/genotype';
import type { Device } from '../tensor';
import { configTask, problemMember } from './config-task';
import { NasSchema, configNasRoot, nasRoot, type NasDataset } from './nas';

const strict = { additionalProperties: false } as const;
const MAX_SAMPLES = 1_000_000;
const count = (description: string, maximum: number, defaultValue: number, minimum = 1) =>
  Type.Optional(Type.Integer({ minimum, maximum, default: defaultValue, description }));

/** The options of the retraining task, declared once; a run config's `problem` is `{ name: 'nas-retrain', ...these }`. */
export const NasRetrainSchema = Type.Object(
  {
    dataset: NasSchema.properties.dataset,
    root: NasSchema.properties.root,
    genotype: Type.Object(GenotypeSchema.properties, {
      additionalProperties: false,
      description: 'the genotype in DARTS\'s structure: {normal: [[operation, input], ...], normal_concat, reduce, reduce_concat} (a search\'s genotype.json)',
    }),
    channels: count('C: channels of the evaluation network\'s first cells, doubled at each reduction', 1024, 36),
    cells: count('cells of the evaluation network (reductions at a third and two thirds)', 64, 20),
    trainSize: count('training images (the first of the seed\'s permutation of the training set)', MAX_SAMPLES, 50000),
    validationSize: count('the next training images, held out: metrics() scores them too, to select architectures by', MAX_SAMPLES, 0, 0),
    testSize: count('test images metrics() classifies', MAX_SAMPLES, 10000),
    batchSize: count('images per LL step, each a fresh draw (with replacement)', MAX_SAMPLES, 96),
    epochs: count('the epochs drop path\'s probability rises over (dropPath * epoch / epochs, an epoch = trainSize / batchSize steps)', 1_000_000, 600),
    dropPath: Type.Optional(Type.Number({ minimum: 0, exclusiveMaximum: 1, default: 0.2, description: 'drop path\'s probability at the last epoch' })),
    auxiliaryWeight: Type.Optional(Type.Number({ minimum: 0, default: 0.4, description: 'the auxiliary head\'s cross-entropy weight in f (0: no head)' })),
    cutout: count('the side of the square cut out of each training image (0: none)', 32, 16, 0),
    cropPadding: count('zeros padded on each side before the random 32 x 32 crop (0: no crop)', 16, 4, 0),
    flip: Type.Optional(Type.Boolean({ default: true, description: 'flip training images horizontally with probability 1/2' })),
    statisticsSize: count('training images whose exact batch-norm statistics metrics() normalizes by', MAX_SAMPLES, 10000),
    seed: Type.Optional(Type.Integer({
      minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0,
      description: 'seeds the split, the network\'s start, the mini-batches, augmentations and drop path (in a run config: the run\'s seed)',
    })),
  },
  strict,
);

/** The options of tasks.nasRetrain: NasRetrainSchema's fields, with dtype and device as for tensors. */
export interface NasRetrainOptions {
  /** As tasks.nas's. @default 'fashion-mnist' */
  dataset?: NasDataset;
  /** As tasks.nas's. */
  root?: string;
  /** The genotype to train, in DARTS's structure (deriveGenotype's, or a search's genotype.json). */
  genotype: Genotype;
  /** C: channels of the evaluation network's first cells, doubled at each reduction. @default 36 */
  channels?: number;
  /** Cells of the evaluation network (reductions at a third and two thirds). @default 20 */
  cells?: number;
  /** Training images (the first of the seed's permutation of the training set). @default 50000 */
  trainSize?: number;
  /** The next training images, held out: metrics() scores them too, to select architectures by. @default 0 */
  validationSize?: number;
  /** Test images metrics() classifies. @default 10000 */
  testSize?: number;
  /** Images per LL step, each a fresh draw (with replacement). @default 96 */
  batchSize?: number;
  /** The epochs drop path's probability rises over (dropPath * epoch / epochs, an epoch = trainSize / batchSize steps). @default 600 */
  epochs?: number;
  /** Drop path's probability at the last epoch. @default 0.2 */
  dropPath?: number;
  /** The auxiliary head's cross-entropy weight in f (0: no head). @default 0.4 */
  auxiliaryWeight?: number;
  /** The side of the square cut out of each training image (0: none). @default 16 */
  cutout?: number;
  /** Zeros padded on each side before the random 32 x 32 crop (0: no crop). @default 4 */
  cropPadding?: number;
  /** Flip training images horizontally with probability 1/2. @default true */
  flip?: boolean;
  /** Training images whose exact batch-norm statistics metrics() normalizes by. @default 10000 */
  statisticsSize?: number;
  /** Seeds the split, the network's start, the mini-batches, augmentations and drop path. @default 0 */
  seed?: number;
  /** @default 'float32' */
  dtype?: 'float32' | 'float64';
  /** @default 'cpu' */
  device?: Device;
}

/** What the retraining task's metrics() returns at y = the network's weights. */
export type NasRetrainMetrics = {
  /** Accuracy on the test images, batch norms at the population statistics of statisticsSize training images. */
  testAccuracy: number;
  /** Mean cross-entropy there. */
  testLoss: number;
  /** Accuracy on the held-out training images (with validationSize > 0), as the test's. */
  validationAccuracy?: number;
  /** Mean cross-entropy there. */
  validationLoss?: number;
  /** The evaluation network's parameters without the auxiliary head (what DARTS reports). */
  parameters: number;
};

const schemaFields: [SameType<Omit<NasRetrainOptions, 'dtype' | 'device'>, Static<typeof NasRetrainSchema>>] = [true];
void schemaFields;

/** The genotype as the native task reads it (core/models/darts/genotype_text.h). */
export function genotypeText(genotype: Genotype): string {
  const cell = (name: 'normal' | 'reduce') =>
    `${name}=${genotype[name].map(([op, input]) => `${op}:${input}`).join(',')};${name}_concat=${genotype[`${name}_concat`].join(',')}`;
  return `${cell('normal')};${cell('reduce')}`;
}

/**
 * The evaluation network of a genotype to train from scratch (docs/algorithms.md §14.9), y = its
 * weights and no x: f = the cross-entropy of an augmented training mini-batch with drop path, plus
 * auxiliaryWeight times the auxiliary head's; F = a test mini-batch's. Train it with
 * Solver.training (nas.retrain() does, with DARTS's recipe).
 */
export async function nasRetrain(options: NasRetrainOptions): Promise<Problem<NasRetrainMetrics>> {
  const { dtype, device, genotype, ...taskOptions } = options;
  validate(NasRetrainSchema, { ...taskOptions, genotype }, 'nasRetrain');
  const dataset = options.dataset ?? 'fashion-mnist';
  const native_: NativeNasRetrainOptions = { ...taskOptions, dataset, genotype: genotypeText(genotype), root: nasRoot(dataset, options.root) };
  const handle = await native.createTask('nas-retrain', native_, { dtype: dtype ?? 'float32', device: device ?? 'cpu' });
  return new Problem<NasRetrainMetrics>(handle, 'nas-retrain');
}

/** A run config's `problem: { name: 'nas-retrain', ...NasRetrainOptions }`. */
export const nasRetrainConfigTask = configTask({
  schema: problemMember('nas-retrain', NasRetrainSchema.properties,
    'training a genotype\'s evaluation network from scratch ([algorithms.md](algorithms.md) §14.9; `tasks.nasRetrain`), with the training solver'),
  seeded: true,
  metrics: true,
  create: ({ name: _name, root, ...options }, { dtype, device, configDir }) =>
    nasRetrain({ ...options, root: configNasRoot(root, options.dataset ?? 'fashion-mnist', configDir), dtype, device }),
});

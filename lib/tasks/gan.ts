// GAN as a bilevel problem (docs/algorithms.md §12), built into the core: the generator is x, the
// discriminator y, the data a 2-D mixture of 10 Gaussians on a pentagram of radius 8.
import { Type, type Static } from '@sinclair/typebox';
import type { NativeGanOptions } from '../../binding';
import { native } from '../binding';
import { validate, type SameType } from '../config';
import { Problem } from '../problem';
import type { Device } from '../tensor';
import { configTask, problemMember } from './config-task';

const strict = { additionalProperties: false } as const;
const MAX_SAMPLES = 1_000_000;

/** The options of the GAN task, declared once: the API validates against it; a run config's `problem` is `{ name: 'gan', ...these }`. */
export const GanSchema = Type.Object(
  {
    noiseSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 4096, default: 16, description: 'the dimension of the generator\'s noise' })),
    hidden: Type.Optional(Type.Integer({
      minimum: 1, maximum: 65_536, default: 128, description: 'units per hidden layer: the generator has two, the discriminator one',
    })),
    batchSize: Type.Optional(Type.Integer({
      minimum: 1, maximum: MAX_SAMPLES, default: 256, description: 'real and generated samples per evaluation of F or f, fresh for every LL step and UL iteration',
    })),
    evaluationSamples: Type.Optional(Type.Integer({
      minimum: 2, maximum: MAX_SAMPLES, default: 2500, description: 'generated samples the metrics are computed on, from fixed noise',
    })),
    seed: Type.Optional(Type.Integer({
      minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0,
      description: 'seeds the networks\' initialization, the sampling and the evaluation noise (in a run config: the run\'s seed)',
    })),
  },
  strict,
);

/** The options of tasks.gan: GanSchema's fields, with dtype and device as for tensors. */
export interface GanOptions {
  /** The dimension of the generator's noise. @default 16 */
  noiseSize?: number;
  /** Units per hidden layer: the generator has two, the discriminator one. @default 128 */
  hidden?: number;
  /** Real and generated samples per evaluation of F or f, fresh for every LL step and UL iteration. @default 256 */
  batchSize?: number;
  /** Generated samples the metrics are computed on, from fixed noise. @default 2500 */
  evaluationSamples?: number;
  /** Seeds the networks' initialization, the sampling and the evaluation noise. @default 0 */
  seed?: number;
  /** @default 'float32' */
  dtype?: 'float32' | 'float64';
  /** @default 'cpu' */
  device?: Device;
}

/** What the GAN's metrics() returns at (x, y): its generated samples against the mixture. */
export type GanMetrics = {
  /** Modes (of 10) with at least 1% of the generated samples within 3 std of their centre. */
  modesCovered: number;
  /** The share of generated samples within 3 std of some centre. */
  highQualityShare: number;
  /** Jensen-Shannon divergence (natural log, in [0, ln 2]) between generated and true mixtures on a grid. */
  jensenShannon: number;
  /** Frechet distance between Gaussians fitted to the generated samples and to the mixture. */
  frechetDistance: number;
};

const schemaFields: [SameType<Omit<GanOptions, 'dtype' | 'device'>, Static<typeof GanSchema>>, SameType<Omit<GanOptions, 'dtype' | 'device'>, NativeGanOptions>] = [true, true];
void schemaFields;

/**
 * GAN as BLO (docs/algorithms.md §12): x = the generator (noise -> 2 hidden ReLU layers -> 2-D),
 * y = the discriminator (2-D -> 1 hidden ReLU layer -> logit); f trains the discriminator,
 * F = -log D(G(v)) the generator. views() gives the generated `samples` and the true `modes`.
 */
export async function gan(options: GanOptions = {}): Promise<Problem<GanMetrics>> {
  const { dtype, device, ...taskOptions } = options;
  validate(GanSchema, taskOptions, 'gan');
  const handle = await native.createTask('gan', taskOptions, { dtype: dtype ?? 'float32', device: device ?? 'cpu' });
  return new Problem<GanMetrics>(handle, 'gan');
}

/** A run config's `problem: { name: 'gan', ...GanOptions }`. */
export const ganConfigTask = configTask({
  schema: problemMember('gan', GanSchema.properties, 'GAN on a mixture of 10 Gaussians ([algorithms.md](algorithms.md) §12; `tasks.gan`)'),
  seeded: true,
  metrics: true,
  create: ({ name: _name, ...options }, { dtype, device }) => gan({ ...options, dtype, device }),
});

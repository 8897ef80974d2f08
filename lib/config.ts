// The solver config: one TypeBox schema gives the TypeScript types, the JSON Schema shipped for
// editors, the validation with field paths, and the defaults. The native side reads exactly
// this shape (native/binding/solver_config.cc).
import { Type, type Static, type TSchema, type TObject, type TUnion } from '@sinclair/typebox';
import { Value, ValueErrorType } from '@sinclair/typebox/value';
import { BilevelError } from './errors';

const strict = { additionalProperties: false } as const;
const positive = (description: string, defaultValue?: number) =>
  Type.Number({ exclusiveMinimum: 0, description, ...(defaultValue === undefined ? {} : { default: defaultValue }) });
const unitInterval = (description: string, defaultValue: number) =>
  Type.Number({ minimum: 0, exclusiveMaximum: 1, description, default: defaultValue });
/**
 * Upper bounds of the counts a config holds, stated in the schema so that a typo is refused before
 * anything runs: reverse-mode hypergradients keep every LL iterate (memory grows with K), runs keep
 * every UL record, and no method or protocol the library implements comes near these.
 */
export const LIMITS = { lowerSteps: 100_000, solverIterations: 100_000, upperIterations: 1_000_000 } as const;
const count = (minimum: number, maximum: number, description: string, defaultValue?: number) =>
  Type.Integer({ minimum, maximum, description, ...(defaultValue === undefined ? {} : { default: defaultValue }) });
const steps = count(1, LIMITS.lowerSteps, 'LL steps K per UL iteration', 10);
const lr = positive('step size', 0.1);

export const dynamicsSchemas = {
  gd: Type.Object({ type: Type.Literal('gd'), steps, lr }, { ...strict, description: 'y_{k+1} = Proj(y_k - lr grad_y f) (Eq. 8)' }),
  bda: Type.Object(
    {
      type: Type.Literal('bda'),
      steps,
      lr: positive('s_l: step on grad_y f', 0.1),
      upperLr: positive('s_u: step on grad_y F', 0.1),
      mu: unitInterval('aggregation weight mu (0 reduces bda to gd)', 0.5),
      beta: Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'b_k, constant', default: 1 }),
    },
    { ...strict, description: 'descent aggregation of grad_y f and grad_y F (Eq. 7)' },
  ),
  nesterov: Type.Object({ type: Type.Literal('nesterov'), steps, lr }, { ...strict, description: 'FISTA-form acceleration for a convex LL (Eq. 9)' }),
  accelerated: Type.Object(
    { type: Type.Literal('accelerated'), steps, lipschitz: positive('L_f; the step is 1 / (2 L_f)', 1) },
    { ...strict, description: 'Ghadimi-Lan accelerated gradient for a non-convex LL (Eq. 10)' },
  ),
  heavyBall: Type.Object(
    {
      type: Type.Literal('heavyBall'),
      steps,
      lr,
      momentum: unitInterval('the velocity\'s decay', 0.9),
      weightDecay: Type.Number({ minimum: 0, description: 'added to the gradient as weightDecay * y', default: 0 }),
      gradientClip: Type.Number({ minimum: 0, description: "the gradient's largest global norm (0: no clipping)", default: 0 }),
    },
    { ...strict, description: 'SGD with momentum, weight decay and gradient clipping (PyTorch SGD after clip_grad_norm_); a warm start carries the velocity' },
  ),
};

export const hypergradientSchemas = {
  reverse: Type.Object({ type: Type.Literal('reverse') }, { ...strict, description: 'RHG: reverse mode through the whole trajectory (up to Kbar under PTT)' }),
  truncated: Type.Object(
    { type: Type.Literal('truncated'), steps: count(1, LIMITS.lowerSteps, 'T: last steps differentiated; at most dynamics.steps') },
    { ...strict, description: 'T-RHG: reverse mode through the last T steps' },
  ),
  forward: Type.Object({ type: Type.Literal('forward') }, { ...strict, description: 'FHG: forward mode, memory independent of K' }),
  cg: Type.Object(
    {
      type: Type.Literal('cg'),
      iterations: count(1, LIMITS.solverIterations, 'CG iterations', 20),
      tolerance: Type.Number({ minimum: 0, description: 'stop at ||r|| <= tolerance ||b||', default: 1e-10 }),
      damping: Type.Number({ minimum: 0, description: 'solves (H + damping I) v = grad_y F', default: 0 }),
    },
    { ...strict, description: 'implicit gradient, the linear system solved by conjugate gradients' },
  ),
  neumann: Type.Object(
    {
      type: Type.Literal('neumann'),
      alpha: positive('series step alpha (< 2 / L_f to converge)', 0.1),
      terms: count(0, LIMITS.solverIterations, 'M', 20),
    },
    { ...strict, description: 'implicit gradient with a truncated Neumann series' },
  ),
  finiteDifference: Type.Object(
    { type: Type.Literal('finiteDifference'), radius: positive('r; eps = r / ||grad_y F||', 0.01) },
    { ...strict, description: 'DARTS\' second-order approximation of the last LL step; needs gd or heavyBall dynamics' },
  ),
  firstOrder: Type.Object({ type: Type.Literal('firstOrder') }, { ...strict, description: 'drops the second-order term' }),
};

const optimizerFields = {
  sgd: { optimizer: Type.Literal('sgd'), lr: positive('step size', 0.01) },
  momentum: {
    optimizer: Type.Literal('momentum'),
    lr: positive('step size', 0.01),
    momentum: unitInterval('heavy-ball coefficient', 0.9),
  },
  adam: {
    optimizer: Type.Literal('adam'),
    lr: positive('step size', 0.001),
    beta1: unitInterval('first-moment decay', 0.9),
    beta2: unitInterval('second-moment decay', 0.999),
    eps: positive('denominator guard', 1e-8),
    weightDecay: Type.Number({ minimum: 0, default: 0, description: 'added to the gradient as weightDecay * x (torch.optim.Adam\'s L2 term)' }),
  },
};

export const optimizerSchemas = {
  sgd: Type.Object(optimizerFields.sgd, { ...strict, description: 'plain gradient step: x - lr g' }),
  momentum: Type.Object(optimizerFields.momentum, { ...strict, description: 'heavy ball: m = momentum m + g; x - lr m' }),
  adam: Type.Object(optimizerFields.adam, { ...strict, description: 'Adam with bias-corrected moments' }),
};

export const BoxSchema = Type.Object(
  { min: Type.Optional(Type.Number()), max: Type.Optional(Type.Number()) },
  { ...strict, description: 'a box [min, max] applied elementwise; a missing bound is unbounded' },
);

const auxiliaryExtra = { set: Type.Optional(BoxSchema) };
export const initAuxiliarySchemas = {
  sgd: Type.Object({ ...optimizerFields.sgd, ...auxiliaryExtra }, strict),
  momentum: Type.Object({ ...optimizerFields.momentum, ...auxiliaryExtra }, strict),
  adam: Type.Object({ ...optimizerFields.adam, ...auxiliaryExtra }, strict),
};

export const PriorSchema = Type.Object(
  {
    weight: Type.Number({ minimum: 0, description: 'lambda in g(z) = lambda/2 ||z - z_p||^2', default: 1 }),
    iterations: count(0, LIMITS.upperIterations, 'apply on the first N UL iterations; 0: always', 0),
  },
  strict,
);

export const LowerLrScheduleSchema = Type.Object(
  {
    type: Type.Literal('cosine'),
    minimum: Type.Number({ minimum: 0, description: 'the step size the cosine ends at', default: 0 }),
    epochs: count(1, LIMITS.upperIterations, 'epochs the cosine spans (then it stays at minimum)'),
    iterationsPerEpoch: count(1, LIMITS.upperIterations, 'UL iterations per epoch: the step size changes between epochs', 1),
  },
  strict,
);

export const TruncationSchema = Type.Union([
  Type.Literal('none'),
  Type.Literal('pessimistic'),
  Type.Object(
    {
      type: Type.Literal('pessimistic'),
      recompute: Type.Boolean({ description: 're-unroll Kbar steps with the graph: memory O(Kbar)', default: false }),
    },
    strict,
  ),
]);

export const BammSchema = Type.Object(
  {
    type: Type.Literal('bamm'),
    mu0: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.9 }),
    p: positive('mu_k = mu0 / (k+1)^(1/p)', 10),
    tau: Type.Number({ minimum: 0, description: 'lr_k = (k+1)^(-1.5 tau) mu_k^3 beta', default: 1 / 40 }),
    beta: positive('LL step size', 0.1),
    mu: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'constant mu instead of the schedule' })),
    lr: Type.Optional(positive('constant UL step instead of the schedule')),
  },
  strict,
);

// Object.values loses which schemas a family holds; the cast restores it, so that Static of the
// union is the union of its members rather than unknown.
const unionOf = <M extends Record<string, TSchema>>(schemas: M) => Type.Union(Object.values(schemas)) as TUnion<M[keyof M][]>;

export const TrajectorySolverSchema = Type.Object(
  {
    type: Type.Optional(Type.Literal('trajectory')),
    dynamics: unionOf(dynamicsSchemas),
    hypergradient: unionOf(hypergradientSchemas),
    upper: unionOf(optimizerSchemas),
    initAuxiliary: Type.Union([Type.Literal(false), unionOf(initAuxiliarySchemas)], { default: false }),
    prior: Type.Union([Type.Literal(false), PriorSchema], { default: false }),
    truncation: Type.Optional(TruncationSchema),
    lowerStart: Type.Union([Type.Literal('fixed'), Type.Literal('warm')], { default: 'fixed' }),
    lowerLrSchedule: Type.Optional(LowerLrScheduleSchema),
  },
  strict,
);

export const TrainingSchema = Type.Object(
  {
    type: Type.Literal('training'),
    dynamics: unionOf(dynamicsSchemas),
    lowerLrSchedule: Type.Optional(LowerLrScheduleSchema),
  },
  strict,
);

export const SolverConfigSchema = Type.Union([TrajectorySolverSchema, BammSchema, TrainingSchema]);

// ---------------------------------------------------------------------------------------------
// Types. The schemas' Static types, written out once more as interfaces because only declarations
// carry the documentation an editor shows on hover (TypeBox's descriptions do not reach it). Each
// is a validated config: a field with a @default is filled in when omitted. `schemaTypes` below
// fails to compile when an interface and its schema disagree.

/** gd: y_{k+1} = Proj(y_k - lr grad_y f) (Eq. 8). */
export interface GdConfig {
  type: 'gd';
  /** LL steps K per UL iteration. @default 10 */
  steps: number;
  /** Step size of each LL step. @default 0.1 */
  lr: number;
}

/** bda: descent aggregation of grad_y F and grad_y f (Eq. 7); mu = 0 is gd with step beta * lr. */
export interface BdaConfig {
  type: 'bda';
  /** LL steps K per UL iteration. @default 10 */
  steps: number;
  /** s_l: step on grad_y f. @default 0.1 */
  lr: number;
  /** s_u: step on grad_y F. @default 0.1 */
  upperLr: number;
  /** Aggregation weight mu, in [0, 1) (0 reduces bda to gd). @default 0.5 */
  mu: number;
  /** b_k, a constant in (0, 1]. @default 1 */
  beta: number;
}

/** nesterov: FISTA-form Nesterov acceleration for a convex LL (Eq. 9). */
export interface NesterovConfig {
  type: 'nesterov';
  /** LL steps K per UL iteration. @default 10 */
  steps: number;
  /** Step size of each LL step. @default 0.1 */
  lr: number;
}

/** accelerated: Ghadimi-Lan accelerated gradient for a non-convex LL (Eq. 10). */
export interface AcceleratedConfig {
  type: 'accelerated';
  /** LL steps K per UL iteration. @default 10 */
  steps: number;
  /** L_f, the Lipschitz constant of grad_y f; the step is 1 / (2 L_f). @default 1 */
  lipschitz: number;
}

/**
 * heavyBall: SGD with heavy-ball momentum, weight decay and gradient clipping, as PyTorch's SGD
 * steps after clip_grad_norm_ (how DARTS trains its weights). With `lowerStart: 'warm'` the velocity
 * carries into the next UL iteration with y.
 */
export interface HeavyBallConfig {
  type: 'heavyBall';
  /** LL steps K per UL iteration. @default 10 */
  steps: number;
  /** Step size of each LL step. @default 0.1 */
  lr: number;
  /** The velocity's decay, in [0, 1). @default 0.9 */
  momentum: number;
  /** Added to the gradient as weightDecay * y. @default 0 */
  weightDecay: number;
  /** The gradient's largest global norm (0: no clipping). @default 0 */
  gradientClip: number;
}

/** The LL dynamics by their `type`. */
export interface DynamicsByType {
  gd: GdConfig;
  bda: BdaConfig;
  nesterov: NesterovConfig;
  accelerated: AcceleratedConfig;
  heavyBall: HeavyBallConfig;
}
export type DynamicsConfig = DynamicsByType[keyof DynamicsByType];

/** reverse (RHG): reverse mode through the whole trajectory (or up to Kbar under PTT). */
export interface ReverseConfig {
  type: 'reverse';
}

/** truncated (T-RHG): reverse mode through the last `steps` LL steps only. */
export interface TruncatedConfig {
  type: 'truncated';
  /** T: the last LL steps differentiated (required, >= 1). */
  steps: number;
}

/** forward (FHG): forward mode, memory independent of K; one tangent per scalar of x (and z). */
export interface ForwardConfig {
  type: 'forward';
}

/** cg: implicit gradient, (H + damping I) v = grad_y F solved by conjugate gradients. */
export interface CgConfig {
  type: 'cg';
  /** Most conjugate-gradient iterations. @default 20 */
  iterations: number;
  /** Stop once ||r|| <= tolerance ||b||. @default 1e-10 */
  tolerance: number;
  /** Added to the Hessian's diagonal. @default 0 */
  damping: number;
}

/** neumann: implicit gradient with a truncated Neumann series for H^{-1}. */
export interface NeumannConfig {
  type: 'neumann';
  /** Series step alpha (< 2 / L_f to converge). @default 0.1 */
  alpha: number;
  /** M, the terms of the series. @default 20 */
  terms: number;
}

/** finiteDifference: DARTS' second-order approximation of the last gd or heavyBall step (its virtual step, unclipped). */
export interface FiniteDifferenceConfig {
  type: 'finiteDifference';
  /** r; the difference step is eps = r / ||grad_y F||. @default 0.01 */
  radius: number;
}

/** firstOrder: grad_x F(x, y_K), without the indirect term. */
export interface FirstOrderConfig {
  type: 'firstOrder';
}

/** The hypergradients by their `type`. */
export interface HypergradientByType {
  reverse: ReverseConfig;
  truncated: TruncatedConfig;
  forward: ForwardConfig;
  cg: CgConfig;
  neumann: NeumannConfig;
  finiteDifference: FiniteDifferenceConfig;
  firstOrder: FirstOrderConfig;
}
export type HypergradientConfig = HypergradientByType[keyof HypergradientByType];

/** sgd: p <- Proj(p - lr g). */
export interface SgdConfig {
  optimizer: 'sgd';
  /** Step size. @default 0.01 */
  lr: number;
}

/** momentum (heavy ball): m <- momentum m + g; p <- Proj(p - lr m). */
export interface MomentumConfig {
  optimizer: 'momentum';
  /** Step size. @default 0.01 */
  lr: number;
  /** Heavy-ball coefficient, in [0, 1). @default 0.9 */
  momentum: number;
}

/** adam: Adam with bias correction, then the projection. */
export interface AdamConfig {
  optimizer: 'adam';
  /** Step size. @default 0.001 */
  lr: number;
  /** First-moment decay, in [0, 1). @default 0.9 */
  beta1: number;
  /** Second-moment decay, in [0, 1). @default 0.999 */
  beta2: number;
  /** Denominator guard. @default 1e-8 */
  eps: number;
  /** Added to the gradient as weightDecay * x (torch.optim.Adam's L2 term; DARTS: 1e-3 on alpha). @default 0 */
  weightDecay: number;
}

/** The optimizers by their `optimizer` name. */
export interface OptimizerByName {
  sgd: SgdConfig;
  momentum: MomentumConfig;
  adam: AdamConfig;
}
export type OptimizerConfig = OptimizerByName[keyof OptimizerByName];

/** A box [min, max] applied elementwise. */
export interface BoxConfig {
  /** Lower bound. @default unbounded */
  min?: number;
  /** Upper bound. @default unbounded */
  max?: number;
}

/** The set z is kept in, beside z's optimizer. */
export interface AuxiliarySet {
  /** Z, the box z is projected onto. @default the LL set */
  set?: BoxConfig;
}
export interface SgdAuxiliaryConfig extends SgdConfig, AuxiliarySet {}
export interface MomentumAuxiliaryConfig extends MomentumConfig, AuxiliarySet {}
export interface AdamAuxiliaryConfig extends AdamConfig, AuxiliarySet {}
/** Initialization Auxiliary: z's optimizer and Z. */
export type InitAuxiliaryConfig = SgdAuxiliaryConfig | MomentumAuxiliaryConfig | AdamAuxiliaryConfig;

/** Prior regularization g(z) = lambda/2 ||z - z_p||^2 (Eq. 6). */
export interface PriorConfig {
  /** lambda. @default 1 */
  weight: number;
  /** Apply g on the first N UL iterations only; 0: always. @default 0 */
  iterations: number;
}

/**
 * dynamics.lr across UL iterations, as DARTS anneals its weights' learning rate: at epoch
 * e = min(floor(t / iterationsPerEpoch), epochs), lr_t = minimum + (lr - minimum) (1 + cos(pi e / epochs)) / 2.
 */
export interface LowerLrScheduleConfig {
  type: 'cosine';
  /** The step size the cosine ends at. @default 0 */
  minimum: number;
  /** Epochs the cosine spans (then it stays at minimum). */
  epochs: number;
  /** UL iterations per epoch: the step size changes between epochs. @default 1 */
  iterationsPerEpoch: number;
}

/** Pessimistic trajectory truncation (PTT, Alg. 3): 'none', 'pessimistic', or with recompute. */
export type TruncationConfig = 'none' | 'pessimistic' | {
  type: 'pessimistic';
  /** Re-unroll the Kbar steps with the graph, memory O(Kbar). @default false */
  recompute: boolean;
};

/** A trajectory solver: LL dynamics unrolled K steps, then a hypergradient and a UL step. */
export interface TrajectorySolverConfig {
  /** @default 'trajectory' */
  type?: 'trajectory';
  dynamics: DynamicsConfig;
  hypergradient: HypergradientConfig;
  /** The UL optimizer for x. */
  upper: OptimizerConfig;
  /** Initialization Auxiliary (Eq. 5): y_0 = z, learned jointly with x. @default false */
  initAuxiliary: false | InitAuxiliaryConfig;
  /** Prior regularization of z (Eq. 6); needs initAuxiliary. @default false */
  prior: false | PriorConfig;
  /** @default 'none' */
  truncation?: TruncationConfig;
  /** y_0 of each UL iteration: the problem's start ('fixed') or the last y_K ('warm'). @default 'fixed' */
  lowerStart: 'fixed' | 'warm';
  /** dynamics.lr across UL iterations (not for accelerated dynamics); absent: constant. */
  lowerLrSchedule?: LowerLrScheduleConfig;
}

/** sl-BAMM, the single-loop solver of docs/algorithms.md §7 (defaults: the authors' code). */
export interface BammConfig {
  type: 'bamm';
  /** mu_0, in (0, 1). @default 0.9 */
  mu0: number;
  /** p in mu_k = mu0 / (k+1)^(1/p). @default 10 */
  p: number;
  /** tau in lr_k = (k+1)^(-1.5 tau) mu_k^3 beta. @default 0.025 */
  tau: number;
  /** LL step size. @default 0.1 */
  beta: number;
  /** A constant mu in [0, 1] instead of the schedule. @default the schedule */
  mu?: number;
  /** A constant UL step instead of the schedule. @default the schedule */
  lr?: number;
}

/**
 * Single-level training (docs/algorithms.md §3.8): y descends f by the dynamics, dynamics.steps
 * steps per iteration continuing from the last iterate, while x stays at the problem's start.
 */
export interface TrainingConfig {
  type: 'training';
  /** Any dynamics but bda, which mixes in F's gradient. */
  dynamics: DynamicsConfig;
  /** dynamics.lr across iterations (not for accelerated dynamics); absent: constant. */
  lowerLrSchedule?: LowerLrScheduleConfig;
}

export type SolverConfig = TrajectorySolverConfig | BammConfig | TrainingConfig;

/** True when A and B are the same type (not only mutually assignable: an extra optional field counts). */
export type SameType<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
type StaticFamily<M extends Record<string, TSchema>> = { [K in keyof M]: Static<M[K]> };
const schemaTypes: [
  SameType<DynamicsByType, StaticFamily<typeof dynamicsSchemas>>,
  SameType<HypergradientByType, StaticFamily<typeof hypergradientSchemas>>,
  SameType<OptimizerByName, StaticFamily<typeof optimizerSchemas>>,
  SameType<InitAuxiliaryConfig, Static<ReturnType<typeof unionOf<typeof initAuxiliarySchemas>>>>,
  SameType<PriorConfig, Static<typeof PriorSchema>>,
  SameType<LowerLrScheduleConfig, Static<typeof LowerLrScheduleSchema>>,
  SameType<TruncationConfig, Static<typeof TruncationSchema>>,
  SameType<TrajectorySolverConfig, Static<typeof TrajectorySolverSchema>>,
  SameType<BammConfig, Static<typeof BammSchema>>,
  SameType<TrainingConfig, Static<typeof TrainingSchema>>,
] = [true, true, true, true, true, true, true, true, true, true];
void schemaTypes;

/** "an integer in [1, 100000]", "one of ...": what a value of schema must be. */
export function describeSchema(schema: TSchema): string {
  // A choice of words ("float32" | "float64"): list them, rather than TypeBox's "expected union value".
  const members = schema.anyOf as TSchema[] | undefined;
  if (members !== undefined && members.every((m) => m.const !== undefined)) {
    return `one of ${members.map((m) => JSON.stringify(m.const)).join(', ')}`;
  }
  const parts: string[] = [];
  if (schema.type === 'integer') parts.push('an integer');
  else if (schema.type) parts.push(`${schema.type === 'object' || schema.type === 'integer' ? 'an' : 'a'} ${String(schema.type)}`);
  parts.push(...describeRange(schema));
  if (schema.const !== undefined) parts.push(JSON.stringify(schema.const));
  return parts.join(' ');
}

/** ">= 0", "< 1", or both bounds as an interval: "in [1, 1000000]", "in (0, 1)". */
function describeRange(schema: TSchema): string[] {
  const lower = schema.minimum !== undefined ? { bracket: '[', value: schema.minimum, alone: '>=' }
    : schema.exclusiveMinimum !== undefined ? { bracket: '(', value: schema.exclusiveMinimum, alone: '>' } : undefined;
  const upper = schema.maximum !== undefined ? { bracket: ']', value: schema.maximum, alone: '<=' }
    : schema.exclusiveMaximum !== undefined ? { bracket: ')', value: schema.exclusiveMaximum, alone: '<' } : undefined;
  if (lower !== undefined && upper !== undefined) return [`in ${lower.bracket}${lower.value}, ${upper.value}${upper.bracket}`];
  return [lower, upper].filter((bound) => bound !== undefined).map((bound) => `${bound.alone} ${bound.value}`);
}

/**
 * Validates value against schema (after filling defaults) and returns the completed value.
 * The error names the field at `path`, the allowed range and the value given.
 */
export function validate<S extends TSchema>(schema: S, value: unknown, path: string): Static<S> {
  const completed = Value.Default(schema, Value.Clone(value));
  const error = Value.Errors(schema, completed).First();
  if (error === undefined) return completed as Static<S>;
  const field = path + error.path.replace(/\//g, '.');
  if (error.type === ValueErrorType.ObjectAdditionalProperties) {
    const allowed = Object.keys((error.schema as TObject).properties).join(', ');
    throw new BilevelError('INVALID_ARGUMENT', `${field}: unknown field (allowed: ${allowed})`);
  }
  const expected = describeSchema(error.schema);
  const reason = expected ? `must be ${expected}` : error.message.toLowerCase();
  throw new BilevelError('INVALID_ARGUMENT', `${field}: ${reason}; got ${JSON.stringify(error.value)}`);
}

/** Validates one member of a family keyed by a discriminant (`type` or `optimizer`). */
export function validateVariant<M extends Record<string, TSchema>>(
  schemas: M, key: string, value: unknown, path: string,
): Static<M[keyof M]> {
  const tag = (value as Record<string, unknown> | null)?.[key];
  const schema = typeof tag === 'string' ? schemas[tag] : undefined;
  if (schema === undefined) {
    throw new BilevelError(
      'INVALID_ARGUMENT',
      `${path}.${key}: must be one of ${Object.keys(schemas).join(', ')}; got ${JSON.stringify(tag)}`,
    );
  }
  return validate(schema, value, path) as Static<M[keyof M]>;
}

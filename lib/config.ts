// The solver config: one TypeBox schema gives the TypeScript types, the JSON Schema shipped for
// editors, the validation with field paths, and the defaults. The native side reads exactly
// this shape (native/binding/solver_config.cc).
import { Type, type Static, type TSchema, type TObject } from '@sinclair/typebox';
import { Value, ValueErrorType } from '@sinclair/typebox/value';
import { BilevelError } from './errors';

const strict = { additionalProperties: false } as const;
const positive = (description: string, defaultValue?: number) =>
  Type.Number({ exclusiveMinimum: 0, description, ...(defaultValue === undefined ? {} : { default: defaultValue }) });
const unitInterval = (description: string, defaultValue: number) =>
  Type.Number({ minimum: 0, exclusiveMaximum: 1, description, default: defaultValue });
const steps = Type.Integer({ minimum: 1, description: 'LL steps K per UL iteration', default: 10 });
const lr = positive('step size', 0.1);

export const dynamicsSchemas = {
  gd: Type.Object({ type: Type.Literal('gd'), steps, lr }, strict),
  bda: Type.Object(
    {
      type: Type.Literal('bda'),
      steps,
      lr: positive('s_l: step on grad_y f', 0.1),
      upperLr: positive('s_u: step on grad_y F', 0.1),
      mu: unitInterval('aggregation weight mu (0 reduces bda to gd)', 0.5),
      beta: Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'b_k, constant', default: 1 }),
    },
    strict,
  ),
  nesterov: Type.Object({ type: Type.Literal('nesterov'), steps, lr }, strict),
  accelerated: Type.Object(
    { type: Type.Literal('accelerated'), steps, lipschitz: positive('L_f; the step is 1 / (2 L_f)', 1) },
    strict,
  ),
};

export const hypergradientSchemas = {
  reverse: Type.Object({ type: Type.Literal('reverse') }, strict),
  truncated: Type.Object(
    { type: Type.Literal('truncated'), steps: Type.Integer({ minimum: 1, description: 'T: last steps differentiated' }) },
    strict,
  ),
  forward: Type.Object({ type: Type.Literal('forward') }, strict),
  cg: Type.Object(
    {
      type: Type.Literal('cg'),
      iterations: Type.Integer({ minimum: 1, default: 20 }),
      tolerance: Type.Number({ minimum: 0, description: 'stop at ||r|| <= tolerance ||b||', default: 1e-10 }),
      damping: Type.Number({ minimum: 0, default: 0 }),
    },
    strict,
  ),
  neumann: Type.Object(
    {
      type: Type.Literal('neumann'),
      alpha: positive('series step alpha (< 2 / L_f to converge)', 0.1),
      terms: Type.Integer({ minimum: 0, description: 'M', default: 20 }),
    },
    strict,
  ),
  finiteDifference: Type.Object(
    { type: Type.Literal('finiteDifference'), radius: positive('r; eps = r / ||grad_y F||', 0.01) },
    strict,
  ),
  firstOrder: Type.Object({ type: Type.Literal('firstOrder') }, strict),
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
  },
};

export const optimizerSchemas = {
  sgd: Type.Object(optimizerFields.sgd, strict),
  momentum: Type.Object(optimizerFields.momentum, strict),
  adam: Type.Object(optimizerFields.adam, strict),
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
    iterations: Type.Integer({ minimum: 0, description: 'apply on the first N UL iterations; 0: always', default: 0 }),
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

const unionOf = (schemas: Record<string, TSchema>) => Type.Union(Object.values(schemas));

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
  },
  strict,
);

export const SolverConfigSchema = Type.Union([TrajectorySolverSchema, BammSchema]);

export type DynamicsConfig = { [K in keyof typeof dynamicsSchemas]: Static<(typeof dynamicsSchemas)[K]> }[keyof typeof dynamicsSchemas];
export type HypergradientConfig = {
  [K in keyof typeof hypergradientSchemas]: Static<(typeof hypergradientSchemas)[K]>;
}[keyof typeof hypergradientSchemas];
export type OptimizerConfig = { [K in keyof typeof optimizerSchemas]: Static<(typeof optimizerSchemas)[K]> }[keyof typeof optimizerSchemas];
export type InitAuxiliaryConfig = {
  [K in keyof typeof initAuxiliarySchemas]: Static<(typeof initAuxiliarySchemas)[K]>;
}[keyof typeof initAuxiliarySchemas];
export type PriorConfig = Static<typeof PriorSchema>;
export type TruncationConfig = Static<typeof TruncationSchema>;
export type BammConfig = Static<typeof BammSchema>;
export type TrajectorySolverConfig = Static<typeof TrajectorySolverSchema>;
export type SolverConfig = Static<typeof SolverConfigSchema>;

function describe(schema: TSchema): string {
  // A choice of words ("float32" | "float64"): list them, rather than TypeBox's "expected union value".
  const members = schema.anyOf as TSchema[] | undefined;
  if (members !== undefined && members.every((m) => m.const !== undefined)) {
    return `one of ${members.map((m) => JSON.stringify(m.const)).join(', ')}`;
  }
  const parts: string[] = [];
  if (schema.type === 'integer') parts.push('an integer');
  else if (schema.type) parts.push(`a ${String(schema.type)}`);
  if (schema.minimum !== undefined) parts.push(`>= ${schema.minimum}`);
  if (schema.exclusiveMinimum !== undefined) parts.push(`> ${schema.exclusiveMinimum}`);
  if (schema.maximum !== undefined) parts.push(`<= ${schema.maximum}`);
  if (schema.exclusiveMaximum !== undefined) parts.push(`< ${schema.exclusiveMaximum}`);
  if (schema.const !== undefined) parts.push(JSON.stringify(schema.const));
  return parts.join(' ');
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
  const expected = describe(error.schema);
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

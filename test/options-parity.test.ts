// Options are declared once per language: TypeBox schemas in TypeScript (lib/config.ts), field
// declarations in C++ (native/core/option_fields.h), which the native config reader walks. This
// test ties the two: for every member of every solver piece, the same field names, defaults,
// ranges and integer-ness. Keys that are not numeric options (type, optimizer, set, ...) are
// compared as names only: the schema may hold them, the declarations never do.
import type { TSchema } from '@sinclair/typebox';
import type { NativeOptionField, NativeOptionFields } from '../binding';
import { loadNative } from '../lib/binding';
import { BammSchema, LowerLrScheduleSchema, PriorSchema, dynamicsSchemas, hypergradientSchemas, optimizerSchemas } from '../lib/config';
import { problemSchemas } from '../lib/run-config';
import { FewShotEvaluationSchema } from '../lib/tasks';

const declarations = loadNative().describeOptions();
// Keys a schema holds besides the numeric options: the member's name, IA's set, tensors.
const NOT_NUMERIC = new Set(['type', 'optimizer']);

/** One schema field in the declarations' form. */
function describedField(field: TSchema): NativeOptionField {
  const variants = (field.anyOf ?? []) as TSchema[];
  if (variants.length > 0 && variants.every((v) => v.const !== undefined)) {
    return { type: 'string', enum: variants.map((v) => v.const as string), ...(field.default === undefined ? {} : { default: field.default }) };
  }
  if (variants.length > 0 && variants.every((v) => v.type === 'array')) return { type: 'tensors' }; // x0 / y0: numbers become tensors
  if (field.type === 'object') return { type: 'string' }; // a structure (nas-retrain's genotype) reaches the core as text
  const bounds = ['default', 'minimum', 'exclusiveMinimum', 'maximum', 'exclusiveMaximum'].filter((key) => field[key] !== undefined);
  return { type: field.type as NativeOptionField['type'], ...Object.fromEntries(bounds.map((key) => [key, field[key]])) };
}

/** The schema's option fields in the declarations' form (the member's name left out). */
function fromSchema(schema: TSchema, notOptions = NOT_NUMERIC): NativeOptionFields {
  const properties = schema.properties as Record<string, TSchema>;
  return Object.fromEntries(Object.entries(properties).filter(([name]) => !notOptions.has(name)).map(([name, field]) => [name, describedField(field)]));
}

const pieces: [string, Record<string, TSchema>, Record<string, NativeOptionFields>][] = [
  ['dynamics', dynamicsSchemas, declarations.dynamics],
  ['hypergradient', hypergradientSchemas, declarations.hypergradient],
  ['optimizer', optimizerSchemas, declarations.optimizer],
];
const cases = [
  ...pieces.flatMap(([piece, schemas, declared]) =>
    Object.entries(schemas).map(([member, schema]) => [`${piece} ${member}`, schema, declared[member]] as const)),
  ['prior', PriorSchema, declarations.prior] as const,
  ['bamm', BammSchema, declarations.bamm] as const,
  ['lowerLrSchedule', LowerLrScheduleSchema, declarations.lowerLrSchedule] as const,
];

test.each(pieces)('%s: the same members in both languages', (_piece, schemas, declared) => {
  expect(Object.keys(declared).sort()).toEqual(Object.keys(schemas).sort());
});

test.each(cases)('%s: the same fields, defaults and ranges', (_name, schema, declared) => {
  expect(declared).toEqual(fromSchema(schema));
});

// Tasks: a run config's problem member (less its name) against the registry's declarations.
test('tasks: the same names in both languages', () => {
  expect(Object.keys(declarations.tasks).sort()).toEqual(Object.keys(problemSchemas).sort());
});

test.each(Object.entries(problemSchemas))('task %s: the same fields, types, defaults and ranges', (name, schema) => {
  expect(declarations.tasks[name as keyof typeof declarations.tasks]).toEqual(fromSchema(schema, new Set(['name'])));
});

// The settings tasks' metrics() take, likewise.
const metricSettingsSchemas: Record<string, TSchema> = { 'few-shot': FewShotEvaluationSchema };
test('metric settings: the same tasks take them in both languages, with the same fields, defaults and ranges', () => {
  expect(Object.keys(declarations.metricSettings).sort()).toEqual(Object.keys(metricSettingsSchemas).sort());
  for (const [name, schema] of Object.entries(metricSettingsSchemas)) {
    expect(declarations.metricSettings[name as keyof typeof declarations.metricSettings]).toEqual(fromSchema(schema));
  }
});

// The native reader walks the same declarations: it refuses what they do not declare, values
// outside their ranges, and fills their defaults (seen through the raw binding, below the
// TypeScript validation that normally comes first).
test.each([
  [{ dynamics: { type: 'gd', lrr: 0.1 } }, /^checkSolverConfig: solver\.dynamics\.lrr: unknown field \(gd takes type, steps, lr\)$/],
  [{ dynamics: { type: 'bda', mu: 1 } }, /^checkSolverConfig: solver\.dynamics\.mu must be a number in \[0, 1\); got 1$/],
  [{ hypergradient: { type: 'cg', iterations: 2.5 } }, /solver\.hypergradient\.iterations must be an integer in \[1, 100000\]; got 2\.5$/],
  [{ hypergradient: { type: 'truncated' } }, /solver\.hypergradient\.steps is required by truncated$/],
  [{ upper: { optimizer: 'sgd', beta1: 0.9 } }, /solver\.upper\.beta1: unknown field \(sgd takes optimizer, lr\)$/],
  [{ prior: { weight: -1 }, initAuxiliary: {} }, /solver\.prior\.weight must be a number >= 0; got -1$/],
  [{ type: 'bamm', mu0: 1 }, /solver\.mu0 must be a number in \(0, 1\); got 1$/],
  [{ lowerStrat: 'warm' }, /solver\.lowerStrat: unknown field \(solver takes type, dynamics, /],
])('the native reader refuses %j', (config, message) => {
  expect(() => loadNative().checkSolverConfig(config as never)).toThrow(message);
});

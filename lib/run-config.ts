// Run configs: one JSON file describes a whole run (problem, solver, iterations, dtype, device).
// The "solver" member is the SolverConfigSchema of lib/config.ts itself, so the builder, the CLI
// and the native side read one shape, and the shipped JSON Schema is generated from this file.
import * as path from 'node:path';
import { Type, type Static, type TObject, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse as parseJsonc, type ParseError } from 'jsonc-parser';
import {
  BammSchema, PriorSchema, SolverConfigSchema, TrainingSchema, TrajectorySolverSchema, TruncationSchema, dynamicsSchemas,
  LIMITS, hypergradientSchemas, initAuxiliarySchemas, optimizerSchemas, validate, validateVariant,
  type SolverConfig, type TrainingConfig,
} from './config';
import { BilevelError } from './errors';
import type { Problem } from './problem';
import { MAX_TOY_DIMENSION, problems, type NonconvexOptions } from './problems';
import { Solver } from './solver';
import { configTask, configTasks, problemMember, type ConfigTask, type TaskSolution } from './tasks';
import { tensor, type Device, type Tensor } from './tensor';

const strict = { additionalProperties: false } as const;

/** x0 / y0: one array for a single variable, or one array per variable. */
const startValues = (what: string) =>
  Type.Union([Type.Array(Type.Number()), Type.Array(Type.Array(Type.Number()))], {
    description: `${what}: an array of numbers (one variable) or an array of such arrays (one per variable)`,
  });

const toyFields = (defaultDimension: number) => ({
  n: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_TOY_DIMENSION, default: defaultDimension, description: `dimension n` })),
  closedForm: Type.Optional(Type.Boolean({ default: true, description: 'the closed-form LL gradients; false: autograd' })),
  x0: Type.Optional(startValues('starting x (absent: the paper\'s start)')),
  y0: Type.Optional(startValues('starting y (absent: the paper\'s start)')),
});

/** One tensor per variable; a flat array is a single variable. */
function startTensors(values: number[] | number[][], dtype: RunConfig['dtype']): Tensor[] {
  const perVariable = values.every((v) => Array.isArray(v)) && values.length > 0 ? (values as number[][]) : [values as number[]];
  return perVariable.map((data) => tensor(data, [data.length], { dtype }));
}

type ToyMember = { name: string; x0?: number[] | number[][]; y0?: number[] | number[][] } & Omit<NonconvexOptions, 'x0' | 'y0'>;

// The core names the start it refuses ("x0[0]: expected 1 elements, got 2"); the config path is
// problem.x0, and for a flat array (one variable) the [0] would point at a number, not a variable.
function toyProblemError(err: unknown, problem: ToyMember): Error {
  if (!(err instanceof BilevelError) || err.code === 'DEVICE') return err as Error;
  let message = withoutOperation(err.message, 'createTask');
  for (const key of ['x0', 'y0'] as const) {
    const given = problem[key];
    const flat = given !== undefined && !given.every((v) => Array.isArray(v));
    if (flat) message = message.replace(new RegExp(`^${key}\\[0\\]`), key);
  }
  return invalid(`problem.${message}`, err);
}

/** A toy problem's entry: its starts become tensors (copied by the core, then freed here). */
function toyTask<Schema extends TObject>(schema: Schema, factory: (options: NonconvexOptions) => Problem): ConfigTask<Schema> {
  return configTask({
    schema,
    seeded: false,
    metrics: false,
    create: (member, { dtype, device }) => {
      const problem = member as unknown as ToyMember;
      const { name: _name, x0, y0, ...sizes } = problem;
      const starts = { x0: x0 && startTensors(x0, dtype), y0: y0 && startTensors(y0, dtype) };
      try {
        return factory({ ...sizes, ...starts, dtype, device });
      } catch (err) {
        throw toyProblemError(err, problem);
      } finally {
        [...(starts.x0 ?? []), ...(starts.y0 ?? [])].forEach((t) => t.dispose());
      }
    },
  });
}

/** Every problem a run config can name: the toy problems and the learning tasks. */
const problemTasks = {
  'toy/convex': toyTask(problemMember('toy/convex', toyFields(20), 'Eq. 18, X = [-10, 10]^n; start x0 = 2e, y0 = (2e, 2e) (two LL variables)'),
    problems.toy.convex),
  'toy/singleton': toyTask(problemMember('toy/singleton', toyFields(20), 'Eq. 19, X = [-1, 1]^n; start x0 = -e, y0 = (-e, -2e)'),
    problems.toy.singleton),
  'toy/nonconvex': toyTask(problemMember('toy/nonconvex', {
    ...toyFields(1),
    a: Type.Optional(Type.Number({ default: 2, description: 'a in Eq. 20' })),
    c: Type.Optional(Type.Number({ default: 2, description: 'every c_i in Eq. 20' })),
  }, 'Eq. 20, y in [-10, 10]^n; start x0 = [-6] (scalar x), y0 = 0'), problems.toy.nonconvex),
  'toy/bamm-convex': toyTask(problemMember('toy/bamm-convex', toyFields(100), 'sl-BAMM\'s merely convex test; start x0 = 0.01e, y0 = (0.01e, 0.01e)'),
    problems.toy.bammConvex),
  ...configTasks,
};
type ProblemTasks = typeof problemTasks;

/** The schema of each problem member, keyed by its config name. */
export const problemSchemas = Object.fromEntries(Object.entries(problemTasks).map(([name, task]) => [name, task.schema])) as
  { [Name in keyof ProblemTasks]: ProblemTasks[Name]['schema'] };

const problemTask = (name: unknown): ConfigTask | undefined =>
  typeof name === 'string' && Object.hasOwn(problemTasks, name) ? (problemTasks[name as keyof ProblemTasks] as ConfigTask) : undefined;

/** The task's reading of x (ConfigTask.solution), undefined for tasks without one. */
export const taskSolution = (problem: ProblemConfig, x: readonly Tensor[]): TaskSolution | undefined =>
  problemTask(problem.name)?.solution?.(problem, x);

/** Whether the problem's task has metrics (problem.metrics()); the toys have none. */
export const hasTaskMetrics = (problem: ProblemConfig): boolean => problemTask(problem.name)?.metrics === true;

export const PriorAnchorSchema = Type.Object(
  {
    pretrainSteps: Type.Integer({ minimum: 1, maximum: LIMITS.upperIterations, description: 'gd steps on f at the starting x (problem.pretrainLower)' }),
    lr: Type.Number({ exclusiveMinimum: 0, description: 'their step size' }),
  },
  {
    ...strict,
    description: 'the prior\'s anchor z_p: the LL variables pretrained on f (AIT_P); used when the solver has a prior, '
      + 'else ignored (bilevel compare uses it for aitp)',
  },
);

export const DtypeSchema = Type.Union([Type.Literal('float32'), Type.Literal('float64')], {
  description: 'dtype of the problem\'s variables',
  default: 'float64',
});

export const DeviceSchema = Type.String({
  pattern: '^(cpu|cuda(:[0-9]+)?)$',
  description: 'where the problem and the solver run: "cpu", "cuda" or "cuda:N"',
  default: 'cpu',
});

export const RunConfigSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String({ description: 'the JSON Schema of this file, for editors; ignored' })),
    problem: Type.Union(Object.values(problemSchemas), { description: 'the problem to solve' }),
    solver: SolverConfigSchema,
    iterations: Type.Integer({ minimum: 1, maximum: LIMITS.upperIterations, description: 'UL iterations to run' }),
    seed: Type.Integer({
      minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'seed of the global generator, set before the run', default: 0,
    }),
    dtype: DtypeSchema,
    device: DeviceSchema,
    checkpointEvery: Type.Optional(
      Type.Integer({
        minimum: 1, maximum: LIMITS.upperIterations,
        description: 'write DIR/checkpoint.bin every N UL iterations (also at the end and when interrupted)',
      }),
    ),
    metricsEvery: Type.Optional(Type.Integer({
      minimum: 1,
      maximum: LIMITS.upperIterations,
      description: 'evaluate the task\'s metrics every N UL iterations and at the end (default: at the end only); '
        + 'ignored by problems without metrics',
    })),
    priorAnchor: Type.Optional(PriorAnchorSchema),
  },
  { ...strict, title: 'bilevel run config' },
);

export type ProblemConfig = Static<typeof RunConfigSchema>['problem'];
export type PriorAnchor = Static<typeof PriorAnchorSchema>;
export type ProblemName = keyof typeof problemSchemas;
export type RunConfig = Static<typeof RunConfigSchema>;
/** What the command line may override in a config file. */
export type RunConfigOverrides = Partial<Pick<RunConfig, 'iterations' | 'device'>>;

export interface LoadedRun {
  /** The validated config, defaults filled in. */
  config: RunConfig;
  problem: Problem;
  solver: Solver;
}

/**
 * A file format's JSON Schema for editors (schema/*.schema.json). TypeBox lists a field with a
 * default as required (validate() fills it in before checking); an editor must not ask for it, so
 * such fields leave `required` here.
 */
export function jsonSchemaOf(schema: TSchema): object {
  const plain = JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
  return { $schema: 'http://json-schema.org/draft-07/schema#', ...(withDefaultsOptional(plain) as object) };
}

/** A committed schema file's exact text (scripts/write-schema.ts writes it, a test compares it). */
export function jsonSchemaText(schema: TSchema): string {
  return `${JSON.stringify(jsonSchemaOf(schema), null, 2)}\n`;
}

/** The JSON Schema shipped as schema/bilevel-run.schema.json. */
export const runConfigJsonSchemaText = (): string => jsonSchemaText(RunConfigSchema);

function withDefaultsOptional(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withDefaultsOptional);
  if (!isObject(node)) return node;
  const out = Object.fromEntries(Object.entries(node).map(([key, value]) => [key, withDefaultsOptional(value)]));
  if (Array.isArray(node.required) && isObject(node.properties)) {
    const properties = node.properties as Record<string, { default?: unknown }>;
    const required = (node.required as string[]).filter((key) => properties[key].default === undefined);
    if (required.length > 0) out.required = required;
    else delete out.required;
  }
  return out;
}

const invalid = (message: string, cause?: Error) => new BilevelError('INVALID_ARGUMENT', message, cause);

/** JSON of a value for a message, cut short: x0 may hold thousands of numbers. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function objectAt(value: unknown, path: string): Record<string, unknown> {
  if (!isObject(value)) throw invalid(`${path}: must be an object; got ${shown(value)}`);
  return value;
}

const join = (path: string, key: string) => (path === '' ? key : `${path}.${key}`);

// Unknown and missing fields are checked before the members so that a misspelt key is reported
// as such rather than as the required field it was meant to be.
function checkFields(schema: TObject, value: Record<string, unknown>, path: string): void {
  const allowed = Object.keys(schema.properties);
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw invalid(`${join(path, key)}: unknown field (allowed: ${allowed.join(', ')})`);
  }
  for (const key of requiredFields(schema)) {
    if (value[key] === undefined) throw invalid(`${join(path, key)}: required field is missing`);
  }
}

/** Required fields without a default: those with one are filled in by validate() when absent. */
function requiredFields(schema: TObject): string[] {
  return (schema.required ?? []).filter((key) => schema.properties[key].default === undefined);
}

// validate() describes a pattern by the type alone; the device gets a message that lists the forms.
function checkDevice(value: unknown, path: string): void {
  if (!Value.Check(DeviceSchema, value)) throw invalid(`${path}: must be "cpu", "cuda" or "cuda:N"; got ${shown(value)}`);
}

function checkStartValues(value: unknown, path: string): void {
  const numbers = (v: unknown) => Array.isArray(v) && v.every((n) => typeof n === 'number');
  if (value === undefined || numbers(value) || (Array.isArray(value) && value.every(numbers))) return;
  throw invalid(`${path}: must be an array of numbers or an array of arrays of numbers (one per variable); got ${shown(value)}`);
}

function validateProblem(value: unknown, runSeed: unknown): ProblemConfig {
  const given = objectAt(value, 'problem');
  const problem = problemTask(given.name)?.seeded === true && given.seed === undefined && runSeed !== undefined ? { ...given, seed: runSeed } : given;
  checkStartValues(problem.x0, 'problem.x0');
  checkStartValues(problem.y0, 'problem.y0');
  return validateVariant(problemSchemas, 'name', problem, 'problem');
}

/** `false`, absent, or one object validated by validateMember. */
function validateOptionalMember(value: unknown, path: string, validateMember: (member: unknown) => void): void {
  if (value === undefined || value === false) return;
  if (!isObject(value)) throw invalid(`${path}: must be false or an object; got ${shown(value)}`);
  validateMember(value);
}

function validateTruncation(value: unknown, path: string): void {
  if (value === undefined || isObject(value)) {
    const objectForm = TruncationSchema.anyOf.find((member) => member.type === 'object');
    if (value !== undefined && objectForm !== undefined) validate(objectForm, value, path);
    return;
  }
  const words = TruncationSchema.anyOf.filter((member) => typeof member.const === 'string').map((member) => member.const);
  if (!words.includes(value)) {
    throw invalid(`${path}: must be one of ${words.map((w) => JSON.stringify(w)).join(', ')} or {"type": "pessimistic", "recompute": boolean}; got ${shown(value)}`);
  }
}

// Each member first, with the builder's own validators, so a bad member gets its precise message
// (e.g. solver.dynamics.lr: must be a number > 0) rather than one about the whole union.
function validateTrajectorySolver(solver: Record<string, unknown>): SolverConfig {
  checkFields(TrajectorySolverSchema, solver, 'solver');
  validateVariant(dynamicsSchemas, 'type', solver.dynamics, 'solver.dynamics');
  validateVariant(hypergradientSchemas, 'type', solver.hypergradient, 'solver.hypergradient');
  validateVariant(optimizerSchemas, 'optimizer', solver.upper, 'solver.upper');
  validateOptionalMember(solver.initAuxiliary, 'solver.initAuxiliary', (member) =>
    validateVariant(initAuxiliarySchemas, 'optimizer', member, 'solver.initAuxiliary'));
  validateOptionalMember(solver.prior, 'solver.prior', (member) => validate(PriorSchema, member, 'solver.prior'));
  validateTruncation(solver.truncation, 'solver.truncation');
  if (solver.lowerStart !== undefined) validate(TrajectorySolverSchema.properties.lowerStart, solver.lowerStart, 'solver.lowerStart');
  return validate(TrajectorySolverSchema, solver, 'solver');
}

function validateTraining(solver: Record<string, unknown>): TrainingConfig {
  checkFields(TrainingSchema, solver, 'solver');
  validateVariant(dynamicsSchemas, 'type', solver.dynamics, 'solver.dynamics');
  return validate(TrainingSchema, solver, 'solver');
}

function validateSolver(value: unknown): SolverConfig {
  const solver = objectAt(value, 'solver');
  if (solver.type === 'bamm') return validate(BammSchema, solver, 'solver');
  if (solver.type === 'training') return validateTraining(solver);
  if (solver.type !== undefined && solver.type !== 'trajectory') {
    throw invalid(`solver.type: must be one of "trajectory", "bamm", "training"; got ${shown(solver.type)}`);
  }
  return validateTrajectorySolver(solver);
}

function validatePriorAnchor(value: unknown): void {
  const anchor = objectAt(value, 'priorAnchor');
  checkFields(PriorAnchorSchema, anchor, 'priorAnchor');
  validate(PriorAnchorSchema, anchor, 'priorAnchor');
}

/** Validates a parsed run config and returns it with every default filled in. */
export function validateRunConfig(value: unknown): RunConfig {
  const root = objectAt(value, '(root)');
  checkFields(RunConfigSchema, root, '');
  const { properties } = RunConfigSchema;
  if (root.seed !== undefined) validate(properties.seed, root.seed, 'seed');
  const problem = validateProblem(root.problem, root.seed);
  const solver = validateSolver(root.solver);
  validate(properties.iterations, root.iterations, 'iterations');
  if (root.dtype !== undefined) validate(DtypeSchema, root.dtype, 'dtype');
  if (root.device !== undefined) checkDevice(root.device, 'device');
  if (root.checkpointEvery !== undefined) validate(properties.checkpointEvery, root.checkpointEvery, 'checkpointEvery');
  if (root.metricsEvery !== undefined) validate(properties.metricsEvery, root.metricsEvery, 'metricsEvery');
  if (root.priorAnchor !== undefined) validatePriorAnchor(root.priorAnchor);
  // Every member has passed its own check above; this fills the top-level defaults. $schema
  // only points editors at the schema, relative to the file: the loaded config drops it.
  const { $schema: _editorsOnly, ...config } = validate(RunConfigSchema, { ...root, problem, solver }, '');
  return config;
}

/** JSON.parse, with a syntax error reported as SOURCE:LINE:COLUMN: invalid JSON: REASON. */
export function parseJson(text: string, source: string): unknown {
  try {
    // Some editors save a byte-order mark, which JSON.parse refuses.
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    // V8 names the position for some errors only; jsonc-parser (strict: no comments, no trailing
    // commas) finds it for all.
    const errors: ParseError[] = [];
    parseJsonc(text, errors, { disallowComments: true, allowTrailingComma: false });
    const lines = text.slice(0, errors[0]?.offset ?? text.length).split('\n');
    const line = lines.length;
    const column = lines[lines.length - 1].length + 1;
    // V8's reason without its position or its quote of the text (already given as line:column).
    const reason = (err as Error).message.replace(/ in JSON at position \d+.*$/, '').replace(/, ".*" is not valid JSON$/s, '');
    throw invalid(`${source}:${line}:${column}: invalid JSON: ${reason}`, err as Error);
  }
}

/** The native binding prefixes its messages with the function called, which a config user never sees. */
const withoutOperation = (message: string, operation: string) =>
  message.startsWith(`${operation}: `) ? message.slice(operation.length + 2) : message;

// A native factory's refusals (no default data folder, a split larger than the dataset, a malformed
// file naming the file and offset) are about the problem member, or the device; the entries' own
// refusals already name their path.
function taskError(err: unknown): Error {
  if (!(err instanceof BilevelError) || !err.message.startsWith('createTask: ')) return err as Error;
  const message = withoutOperation(err.message, 'createTask');
  if (err.code === 'DEVICE') return new BilevelError('DEVICE', `device: ${message}`, err);
  return new BilevelError(err.code, `problem: ${message}`, err);
}

/** The config's problem; paths in it (hyper-cleaning's root) are relative to configDir. */
export async function createProblem(config: RunConfig, configDir: string): Promise<Problem> {
  const task = problemTask(config.problem.name) as ConfigTask;
  try {
    return await task.create(config.problem, { dtype: config.dtype, device: config.device as Device, configDir });
  } catch (err) {
    throw taskError(err);
  }
}

/** The native combination check (new Solver), its reason placed under the config's solver path. */
function checkedSolver(config: RunConfig, anchor?: Tensor[]): Solver {
  try {
    return new Solver(config.solver, { anchor });
  } catch (err) {
    if (!(err instanceof BilevelError)) throw err;
    throw new BilevelError(err.code, `solver: ${withoutOperation(err.message, 'checkSolverConfig')}`, err);
  }
}

/** A solver config in a few words, e.g. "gd + reverse + initAuxiliary" (summaries, report titles). */
export function describeSolver(solver: SolverConfig): string {
  if (solver.type === 'bamm') return 'bamm';
  if (solver.type === 'training') return `${solver.dynamics.type} training`;
  const parts: string[] = [solver.dynamics.type, solver.hypergradient.type];
  if (solver.initAuxiliary) parts.push('initAuxiliary');
  if (solver.truncation !== undefined && solver.truncation !== 'none') parts.push('pessimistic truncation');
  if (solver.prior) parts.push('prior');
  return parts.join(' + ');
}

const hasPrior = (solver: SolverConfig): boolean =>
  solver.type !== 'bamm' && solver.type !== 'training' && solver.prior !== false && solver.prior !== undefined;

/**
 * The prior's anchor from priorAnchor: the LL variables pretrained on the problem (AIT_P). Without
 * a prior in the solver, or without priorAnchor, none (the prior then anchors at z_0).
 */
async function priorAnchorTensors(config: RunConfig, problem: Problem): Promise<Tensor[] | undefined> {
  if (config.priorAnchor === undefined || !hasPrior(config.solver)) return undefined;
  const { pretrainSteps, lr } = config.priorAnchor;
  try {
    return await problem.pretrainLower({ steps: pretrainSteps, lr });
  } catch (err) {
    if (!(err instanceof BilevelError)) throw err;
    throw new BilevelError(err.code, `priorAnchor: ${withoutOperation(err.message, 'pretrain')}`, err);
  }
}

/**
 * The config's solver for problem: checked by the core, with the pretrained anchor when
 * priorAnchor applies. checkSolver() first refuses a bad combination before the problem is built.
 */
export async function createSolver(config: RunConfig, problem: Problem): Promise<Solver> {
  const anchor = await priorAnchorTensors(config, problem);
  return anchor === undefined ? checkedSolver(config) : checkedSolver(config, anchor);
}

/** Refuses a solver combination the core does not accept (message under `solver`). */
export function checkSolver(config: RunConfig): void {
  checkedSolver(config);
}

/**
 * Parses, validates and instantiates a run config. Every refusal is a BilevelError whose message
 * starts with the JSON path at fault (or SOURCE:LINE:COLUMN for a JSON syntax error).
 */
export async function loadRunConfig(text: string, source: string, overrides: RunConfigOverrides = {}): Promise<LoadedRun> {
  const config = parseRunConfig(text, source, overrides);
  checkSolver(config);
  const problem = await createProblem(config, path.dirname(source));
  const solver = await createSolver(config, problem);
  return { config, problem, solver };
}

/** Parses and validates a run config (defaults filled in, overrides applied); builds nothing. */
export function parseRunConfig(text: string, source: string, overrides: RunConfigOverrides = {}): RunConfig {
  const parsed = parseJson(text, source);
  const withOverrides = isObject(parsed) ? { ...parsed, ...definedOnly(overrides) } : parsed;
  return validateRunConfig(withOverrides);
}

function definedOnly<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}

// Bilevel problems: F and f written in TypeScript (defineProblem) or built into the core.
import type { NativeBox, NativeProblem, NativeSets, NativeTensor } from '../binding';
import { native } from './binding';
import * as check from './arguments';
import { BilevelError } from './errors';
import { Tensor, handleOf, oneOrMoreHandles, tensorHandles, tidy } from './tensor';

/** A box [min, max]; bounds are numbers or tensors broadcastable to the variable. */
export interface Box {
  min?: number | Tensor;
  max?: number | Tensor;
}

/** An objective of (x, y); the tensors it receives are valid during the call only. */
export type Objective = (x: Tensor[], y: Tensor[]) => Tensor;
/** A gradient in y of an objective: one tensor per LL variable, of its shape. */
export type Gradient = (x: Tensor[], y: Tensor[]) => Tensor[];

export interface ProblemDefinition {
  /** Initial UL variables x_0. */
  x: Tensor | Tensor[];
  /** Initial LL variables y_0. */
  y: Tensor | Tensor[];
  /** X: one box for all of x, or one per variable (undefined: unconstrained). */
  xSet?: Box | (Box | undefined)[];
  /** Y: as xSet. */
  ySet?: Box | (Box | undefined)[];
  /** F(x, y): a scalar. */
  upper: Objective;
  /** f(x, y): a scalar. */
  lower: Objective;
  /**
   * grad_y f in closed form (optional; default: autograd of `lower`). The LL dynamics call it
   * every step instead of differentiating f, which saves an autograd pass per step. It must be
   * differentiable in x and y (built from Tensor ops) for the hypergradients that need it.
   */
  lowerGradient?: Gradient;
  /** grad_y F in closed form (optional; used by bda). */
  upperGradient?: Gradient;
}

/** A known solution of a reference problem, one array per variable. */
export interface Optimum {
  x: number[][];
  y: number[][];
  upper: number;
}

/**
 * A problem; Metrics names what metrics() returns (a task states its own, e.g. HyperCleaningMetrics)
 * and Settings what it takes besides the values (few-shot: FewShotEvaluation; none for most).
 */
export class Problem<Metrics extends Record<string, number> = Record<string, number>, Settings extends object = Record<string, never>>
implements Disposable {
  /** @internal */
  readonly native: NativeProblem;

  constructor(native: NativeProblem, readonly name: string, readonly optimum?: Optimum) {
    this.native = native;
  }

  /**
   * Bytes of tensor memory the problem holds (a task's datasets, the starting values), counted as
   * V8 external memory so the garbage collector sees them; 0 once disposed.
   */
  get bytes(): number {
    return this.native.bytes();
  }

  /**
   * Frees the problem's memory now instead of at garbage collection; later calls on it throw
   * DISPOSED. Runs already started from it keep what they use and go on.
   */
  dispose(): void {
    this.native.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Copies of the starting variables. */
  initial(): { x: Tensor[]; y: Tensor[] } {
    const v = this.native.variables();
    return { x: v.x.map((h) => new Tensor(h)), y: v.y.map((h) => new Tensor(h)) };
  }

  /**
   * A learning task's data by name (copies), for inspection: e.g. trainFeatures, trainLabels (after
   * the corruption), trainTrueLabels, trainClean, validation* and test*; {} for toy problems.
   */
  data(): Record<string, Tensor> {
    return Object.fromEntries(Object.entries(this.native.data()).map(([name, h]) => [name, new Tensor(h)]));
  }

  /**
   * The task's metrics at (x, y), e.g. test accuracy and F1 for hyper-cleaning; {} for toys.
   * settings change how the task measures, for this call only (few-shot: its test episodes and
   * their adaptation); the native task checks them.
   */
  async metrics(values: { x: Tensor[]; y: Tensor[] }, settings?: Settings): Promise<Metrics> {
    check.object(values, 'metrics.values');
    const handles = [tensorHandles(values.x, 'metrics.values.x'), tensorHandles(values.y, 'metrics.values.y')] as const;
    // The native task returns its own names, which its factory states as Metrics.
    return (await this.native.metrics(...handles, settings as Record<string, number> | undefined)) as Metrics;
  }

  /**
   * Tensors that show the solution (x, y) in a report, e.g. the GAN's generated `samples` [N, 2]
   * beside its true `modes`; {} for most problems.
   */
  views(values: { x: Tensor[]; y: Tensor[] }): Record<string, Tensor> {
    check.object(values, 'views.values');
    const views = this.native.views(tensorHandles(values.x, 'views.values.x'), tensorHandles(values.y, 'views.values.y'));
    return Object.fromEntries(Object.entries(views).map(([name, h]) => [name, new Tensor(h)]));
  }

  /**
   * The LL variables after `steps` gd steps of size `lr` on f at the starting x: for a learning
   * task, the model pretrained on the training set (AIT_P's prior anchor).
   */
  async pretrainLower(options: { steps: number; lr: number }): Promise<Tensor[]> {
    const { steps, lr } = check.options(options, 'pretrainLower.options', ['steps', 'lr']);
    const count = check.integer(steps, 'pretrainLower.options.steps', 1);
    if (!(check.finite(lr, 'pretrainLower.options.lr') > 0)) check.fail('pretrainLower.options.lr', 'a number > 0', lr);
    return (await this.native.pretrain(count, lr)).map((h) => new Tensor(h));
  }
}

function bound(value: number | Tensor | undefined, field: string): number | NativeTensor | undefined {
  if (value === undefined || value instanceof Tensor) return value?.handle;
  if (typeof value !== 'number' || Number.isNaN(value)) check.fail(field, 'a number, a Tensor or undefined', value);
  return value;
}

function nativeBox(box: Box | undefined, field: string): NativeBox | null {
  if (box === undefined) return null;
  const { min, max } = check.options(box, field, ['min', 'max']);
  if (typeof min === 'number' && typeof max === 'number' && min > max) check.fail(`${field}.max`, `>= min (${min})`, max);
  return { min: bound(min, `${field}.min`), max: bound(max, `${field}.max`) };
}

function nativeSets(sets: Box | (Box | undefined)[] | undefined, field: string): NativeSets {
  if (sets === undefined) return null;
  return Array.isArray(sets) ? sets.map((box, i) => nativeBox(box, `${field}[${i}]`)) : nativeBox(sets, field);
}

const DEFINITION_KEYS: readonly (keyof ProblemDefinition)[] =
  ['x', 'y', 'xSet', 'ySet', 'upper', 'lower', 'lowerGradient', 'upperGradient'];

function objective(fn: Objective, which: string) {
  return (x: NativeTensor[], y: NativeTensor[]): NativeTensor => {
    const value = tidy(() => fn(x.map((h) => new Tensor(h)), y.map((h) => new Tensor(h))));
    if (!(value instanceof Tensor)) {
      throw new BilevelError('INVALID_ARGUMENT', `${which} objective must return a Tensor, got ${typeof value}`);
    }
    return handleOf(value);
  };
}

function gradient(fn: Gradient | undefined, which: string) {
  if (fn === undefined) return null;
  return (x: NativeTensor[], y: NativeTensor[]): NativeTensor[] => {
    const values = tidy(() => fn(x.map((h) => new Tensor(h)), y.map((h) => new Tensor(h))));
    if (!Array.isArray(values) || !values.every((v) => v instanceof Tensor)) {
      throw new BilevelError('INVALID_ARGUMENT', `${which} must return an array of Tensors, one per LL variable`);
    }
    return values.map(handleOf);
  };
}

/** A problem whose F and f are TypeScript functions of the Tensor API. */
export function defineProblem(definition: ProblemDefinition, name = 'custom'): Problem {
  const field = 'defineProblem.definition';
  const { x, y, xSet, ySet, upper, lower, upperGradient, lowerGradient } = check.options(definition, field, DEFINITION_KEYS);
  const optionalCallable = <F extends Gradient>(fn: F | undefined, key: string) =>
    fn === undefined ? undefined : check.callable(fn, `${field}.${key}`);
  const handle = native.createProblem({
    x: oneOrMoreHandles(x, `${field}.x`),
    y: oneOrMoreHandles(y, `${field}.y`),
    xSets: nativeSets(xSet, `${field}.xSet`),
    ySets: nativeSets(ySet, `${field}.ySet`),
    upper: objective(check.callable(upper, `${field}.upper`), 'upper'),
    lower: objective(check.callable(lower, `${field}.lower`), 'lower'),
    upperGradient: gradient(optionalCallable(upperGradient, 'upperGradient'), 'upperGradient'),
    lowerGradient: gradient(optionalCallable(lowerGradient, 'lowerGradient'), 'lowerGradient'),
  });
  return new Problem(handle, check.string(name, 'defineProblem.name'));
}

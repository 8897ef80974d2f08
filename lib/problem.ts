// Bilevel problems: F and f written in TypeScript (defineProblem) or built into the core.
import type { NativeBox, NativeProblem, NativeSets, NativeTensor } from '../binding';
import { native } from './binding';
import { BilevelError } from './errors';
import { Tensor, handleOf, tidy } from './tensor';

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

export class Problem {
  /** @internal */
  readonly native: NativeProblem;

  constructor(native: NativeProblem, readonly name: string, readonly optimum?: Optimum) {
    this.native = native;
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

  /** The task's metrics at (x, y), e.g. test accuracy and F1 for hyper-cleaning; {} for toys. */
  metrics(values: { x: Tensor[]; y: Tensor[] }): Record<string, number> {
    return this.native.metrics(values.x.map(handleOf), values.y.map(handleOf));
  }

  /**
   * The LL variables after `steps` gd steps of size `lr` on f at the starting x: for a learning
   * task, the model pretrained on the training set (AIT_P's prior anchor).
   */
  pretrainLower(options: { steps: number; lr: number }): Tensor[] {
    const { steps, lr } = options;
    if (!Number.isInteger(steps) || steps < 1) throw new BilevelError('INVALID_ARGUMENT', `steps: must be an integer >= 1; got ${steps}`);
    if (!(lr > 0)) throw new BilevelError('INVALID_ARGUMENT', `lr: must be a number > 0; got ${lr}`);
    return this.native.pretrain(steps, lr).map((h) => new Tensor(h));
  }
}

const list = (t: Tensor | Tensor[]): Tensor[] => (Array.isArray(t) ? t : [t]);

function nativeBox(box: Box | undefined): NativeBox | null {
  if (box === undefined) return null;
  const bound = (b: number | Tensor | undefined) => (b instanceof Tensor ? handleOf(b) : b);
  return { min: bound(box.min), max: bound(box.max) };
}

function nativeSets(sets: Box | (Box | undefined)[] | undefined): NativeSets {
  if (sets === undefined) return null;
  return Array.isArray(sets) ? sets.map(nativeBox) : nativeBox(sets);
}

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
  if (typeof definition.upper !== 'function' || typeof definition.lower !== 'function') {
    throw new BilevelError('INVALID_ARGUMENT', 'defineProblem: upper and lower must be functions (x, y) => Tensor');
  }
  const handle = native.createProblem({
    x: list(definition.x).map(handleOf),
    y: list(definition.y).map(handleOf),
    xSets: nativeSets(definition.xSet),
    ySets: nativeSets(definition.ySet),
    upper: objective(definition.upper, 'upper'),
    lower: objective(definition.lower, 'lower'),
    upperGradient: gradient(definition.upperGradient, 'upperGradient'),
    lowerGradient: gradient(definition.lowerGradient, 'lowerGradient'),
  });
  return new Problem(handle, name);
}

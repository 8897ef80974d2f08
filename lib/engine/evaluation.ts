// What the engine evaluates at a run's current values, between two chunks (a chunk running off
// the main thread holds them): the task's metrics and, for problems with a known optimum, the
// relative distance to it (docs/algorithms.md §8.5).
import type { Optimum, Problem } from '../problem';
import { taskSolution, type ProblemConfig } from '../run-config';
import type { SolverRun, Variables } from '../solver';
import type { NestedArray, Tensor } from '../tensor';
import type { TaskSolution } from '../tasks';

/** The task's metrics (problem.metrics()), e.g. testAccuracy and f1 for hyper-cleaning. */
export type TaskMetrics = Record<string, number>;

const disposeAll = (values: Variables) => [...values.x, ...values.y, ...values.z].forEach((t) => t.dispose());

/** problem.metrics() at the run's current values. */
export async function evaluateMetrics<Metrics extends TaskMetrics>(problem: Problem<Metrics>, run: SolverRun): Promise<Metrics> {
  const values = run.values();
  try {
    return await problem.metrics(values);
  } finally {
    disposeAll(values);
  }
}

/** The task's reading of the run's current x (the NAS task's genotype); undefined for tasks without one. */
export function evaluateSolution(problem: ProblemConfig, run: SolverRun): TaskSolution | undefined {
  const values = run.values();
  try {
    return taskSolution(problem, values.x);
  } finally {
    disposeAll(values);
  }
}

/** Tensors that show a solution (problem.views()), as plain arrays: e.g. a GAN's samples and modes. */
export type TaskViews = Record<string, NestedArray>;

/** problem.views() at the run's current values; undefined for problems without views. */
export function evaluateViews(problem: Problem, run: SolverRun): TaskViews | undefined {
  const values = run.values();
  try {
    const views = Object.entries(problem.views(values));
    return views.length === 0 ? undefined : Object.fromEntries(views.map(([name, view]) => [name, plainValues([view])[0]]));
  } finally {
    disposeAll(values);
  }
}

/** Plain arrays of tensors, which are freed here. */
export function plainValues(tensors: Tensor[]): NestedArray[] {
  const values = tensors.map((t) => t.toNested());
  tensors.forEach((t) => t.dispose());
  return values;
}

const flatten = (values: NestedArray[]): number[] =>
  values.flatMap((value) => (Array.isArray(value) ? flatten(value) : [value]));

/** ||x - x*|| / ||x*|| over all UL variables; the absolute distance for an optimum at the origin, which has no scale. */
export function relativeDistance(x: NestedArray[], optimum: number[][]): number {
  const values = flatten(x);
  const target = optimum.flat();
  let difference = 0;
  let size = 0;
  target.forEach((value, i) => {
    difference += (values[i] - value) ** 2;
    size += value ** 2;
  });
  return Math.sqrt(size === 0 ? difference : difference / size);
}

/** relativeDistance at the run's current x. */
export function distanceToOptimum(run: SolverRun, optimum: Optimum): number {
  const { x, y, z } = run.values();
  [...y, ...z].forEach((t) => t.dispose());
  return relativeDistance(plainValues(x), optimum.x);
}

// How a run config's `problem` member ({ name, ...options }) becomes a problem: one entry per
// problem, beside the factory it calls. lib/run-config.ts walks the table of entries for the
// schema of `problem`, the run's seed, task metrics and construction; it has no per-task branches.
import { Type, type Static, type TLiteral, type TObject, type TProperties } from '@sinclair/typebox';
import type { Problem } from '../problem';
import type { Device, Tensor } from '../tensor';

/** The run's placement of the problem's tensors, and the folder of the config file. */
export interface ConfigContext {
  dtype: 'float32' | 'float64';
  device: Device;
  /** Relative paths in the problem member (a data folder) are relative to it. */
  configDir: string;
}

/** A task's reading of x (ConfigTask.solution), plain JSON. */
export type TaskSolution = Record<string, unknown>;

export interface ConfigTask<Schema extends TObject = TObject> {
  /** The problem member: { name, ...the task's options }. */
  schema: Schema;
  /** A problem member without its own seed takes the run's (the written config then states it). */
  seeded: boolean;
  /** problem.metrics() reports something, which the engine then evaluates on a cadence. */
  metrics: boolean;
  /**
   * What x means in the task's own terms, as JSON, put beside each evaluation of the metrics
   * (metrics.jsonl, result.json): the NAS task's genotype. Absent: nothing beyond the metrics.
   */
  solution?(problem: Static<Schema>, x: readonly Tensor[]): TaskSolution;
  /**
   * Builds the problem. Refusals of the native factory are placed under `problem` by the caller;
   * refusals of create itself name their config path (e.g. "problem.root: ...").
   */
  create(problem: Static<Schema>, context: ConfigContext): Problem | Promise<Problem>;
}

/** The problem member's schema: { name: Name, ...options }, nothing else; description says what the problem is (docs/config.md). */
export function problemMember<Name extends string, Properties extends TProperties>(
  name: Name, options: Properties, description: string,
): TObject<{ name: TLiteral<Name> } & Properties> {
  return Type.Object({ name: Type.Literal(name), ...options }, { additionalProperties: false, description });
}

/** The entry of a problem; `create` receives the member as the schema types it. */
export const configTask = <Schema extends TObject>(entry: ConfigTask<Schema>): ConfigTask<Schema> => entry;

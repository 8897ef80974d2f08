export { BilevelError, type BilevelErrorCode } from './errors';
export {
  Tensor, Generator, tensor, full, zeros, ones, eye, arange, linspace, rand, randn, randint,
  grad, noGrad, manualSeed, tidy, type RandomOptions,
  type Dtype, type Device, type NestedArray, type CreateOptions, type GradOptions,
} from './tensor';
import type { NativeVersions } from '../binding';
import { native } from './binding';

/** Sets LibTorch's intra-op thread count (positive integer). */
export function setNumThreads(threads: number): void {
  native.setNumThreads(threads);
}

/**
 * Bytes of freed CPU tensor memory the library keeps for reuse (at most 128 MiB): solvers free
 * and reallocate same-sized tensors every step, and reusing blocks avoids fresh pages.
 */
export function cachedMemory(): number {
  return native.cachedMemory();
}

/** Returns every cached CPU block to the system allocator. */
export function releaseCachedMemory(): void {
  native.releaseCachedMemory();
}

/** Versions of the library's native parts. */
export function versions(): NativeVersions {
  return native.versions();
}
export {
  cat, stack, where, slice, indexSelect, gather, softmax, logSoftmax, crossEntropy, linear, conv2d,
  maxPool2d, avgPool2d, batchNorm, type Conv2dOptions,
} from './functional';
export {
  defineProblem, Problem, type ProblemDefinition, type Objective, type Gradient, type Box, type Optimum,
} from './problem';
export { problems, nonconvexOptimum, type ToyOptions, type NonconvexOptions } from './problems';
export {
  gd, bda, nesterov, accelerated, heavyBall, reverse, truncated, forward, cg, neumann, finiteDifference, firstOrder,
  sgd, momentum, adam,
} from './methods';
export {
  Solver, SolverBuilder, SolverRun, type IterationRecord, type RunOptions, type RunResult, type StartOptions, type Variables,
  type InitAuxiliaryOptions, type PriorOptions,
} from './solver';
export { ProcessGroup, inProcessGroup } from './distributed';
export * from './config';
export {
  tasks, datasetRoot, HyperCleaningSchema, type HyperCleaningOptions, type HyperCleaningDataset, type HyperCleaningMetrics,
  GanSchema, type GanOptions, type GanMetrics, FewShotSchema, type FewShotOptions, type FewShotMetrics, FewShotEvaluationSchema, type FewShotEvaluation,
  NasSchema, type NasOptions, type NasMetrics, type NasDataset, type NasSolution,
  NasRetrainSchema, type NasRetrainOptions, type NasRetrainMetrics,
} from './tasks';
export { loadRunConfig, RunConfigSchema, type RunConfig } from './run-config';
export {
  deriveGenotype, skipConnections, operationNames, evaluationNetworkSize, GenotypeSchema, type EvaluationNetworkOptions, type Genotype, type GenotypeEdge, type OperationName, type DeriveOptions,
} from './nas/genotype';
export { nas } from './nas';
export type { FollowOptions } from './engine/follow-run';
export {
  nasMethods, NasSearchSchema, type NasMethod, type NasSearchOptions, type NasSearchSettings, type NasEpochRecord, type NasSearchResult,
} from './nas/search';
export {
  NasSweepSchema, type NasSweepOptions, type NasSweepSettings, type NasSweepSummary, type MethodSummary, type SweepRun,
} from './nas/sweep';
export {
  NasRetrainRunSchema, type NasRetrainRunOptions, type NasRetrainSettings, type NasRetrainEpochRecord, type NasRetrainResult,
} from './nas/retrain';

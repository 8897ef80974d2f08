// Exact typings of the raw native module (build/Release/bilevel.node). lib/ consumes these.
export type NativeDtype = 'float32' | 'float64' | 'int64' | 'bool';
export type NativeData = Float32Array | Float64Array | BigInt64Array | Uint8Array;
export type BinaryOpName =
  | 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'matmul' | 'maximum' | 'minimum'
  | 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';
export type UnaryOpName = 'neg' | 'exp' | 'log' | 'sqrt' | 'sin' | 'cos' | 'tanh' | 'sigmoid' | 'relu' | 'abs' | 'clone';
export type ShapeOpName = 'reshape' | 'permute' | 'transpose' | 'squeeze' | 'unsqueeze';
export type InPlaceOpName = 'add_' | 'sub_' | 'mul_' | 'copy_';
export type ReduceOpName = 'sum' | 'mean';

export declare class NativeTensor {
  private constructor();
  shape(): number[];
  dtype(): NativeDtype;
  device(): string;
  requiresGrad(): boolean;
  setRequiresGrad(flag: boolean): void;
  toArray(): NativeData;
  item(): number | boolean;
  binary(op: BinaryOpName, other: NativeTensor | number): NativeTensor;
  unary(op: UnaryOpName): NativeTensor;
  reduce(op: ReduceOpName, dims?: number[] | null, keepdim?: boolean): NativeTensor;
  detach(): NativeTensor;
  reshape(op: ShapeOpName, dims: number[]): NativeTensor;
  clamp(min: number | null, max: number | null, inPlace: boolean): NativeTensor;
  norm(p: number, dims: number[] | null, keepdim: boolean): NativeTensor;
  to(dtype: NativeDtype | null, device: string | null): NativeTensor;
  inplace(op: InPlaceOpName, other: NativeTensor | number): NativeTensor;
  /** Frees the tensor and unwraps this object: use disposedTensor in its place afterwards. */
  dispose(): void;
  isDisposed(): boolean;
}

/** The stand-in for a disposed tensor: every method but dispose() throws DISPOSED. */
export declare const disposedTensor: NativeTensor;

export interface NativeBuildInfo {
  compiler: string;
  cxx: number;
  type: 'release' | 'debug';
  cxx11Abi: boolean;
  /** LibTorch's parallel backend (at::get_parallel_info()), e.g. "OpenMP". */
  parallel: string;
}
export interface NativeVersions {
  libtorch: string;
  cuda: boolean;
  napi: number;
  threads: number;
  build: NativeBuildInfo;
}

export declare function setErrorClass(cls: new (code: string, message: string, cause?: Error) => Error): void;
export declare function fromData(data: NativeData, shape: number[], device?: string): NativeTensor;
export declare function full(shape: number[], value: number, dtype: NativeDtype, device: string): NativeTensor;
/** An opaque CPU random generator owned by the native side. */
export interface NativeGenerator {
  readonly __nativeGenerator: unique symbol;
}
export type RandomKind = 'rand' | 'randn' | 'randint';

export declare function eye(n: number, dtype: NativeDtype, device: string): NativeTensor;
export declare function arange(start: number, end: number, step: number, dtype: NativeDtype, device: string): NativeTensor;
export declare function linspace(start: number, end: number, steps: number, dtype: NativeDtype, device: string): NativeTensor;
export declare function createGenerator(seed: number): NativeGenerator;
export declare function random(
  kind: RandomKind,
  shape: number[],
  generator: NativeGenerator | null,
  dtype: NativeDtype,
  device: string,
  low?: number,
  high?: number,
): NativeTensor;
export declare function cat(tensors: NativeTensor[], dim: number): NativeTensor;
export declare function stack(tensors: NativeTensor[], dim: number): NativeTensor;
export declare function where(tensors: [NativeTensor, NativeTensor, NativeTensor]): NativeTensor;
export declare function slice(t: NativeTensor, dim: number, start: number, end: number, step: number): NativeTensor;
export declare function indexSelect(t: NativeTensor, dim: number, index: NativeTensor): NativeTensor;
export declare function gather(t: NativeTensor, dim: number, index: NativeTensor): NativeTensor;
export declare function softmax(t: NativeTensor, dim: number, log: boolean): NativeTensor;
export declare function crossEntropy(logits: NativeTensor, target: NativeTensor, reduction: 'none' | 'mean' | 'sum'): NativeTensor;
export declare function linear(input: NativeTensor, weight: NativeTensor, bias: NativeTensor | null): NativeTensor;
export declare function conv2d(
  input: NativeTensor,
  weight: NativeTensor,
  bias: NativeTensor | null,
  stride: number[],
  padding: number[],
): NativeTensor;
export declare function pool2d(kind: 'max' | 'avg', input: NativeTensor, kernel: number[], stride: number[]): NativeTensor;
export declare function batchNorm(input: NativeTensor, weight: NativeTensor | null, bias: NativeTensor | null, eps: number): NativeTensor;
export declare function grad(
  outputs: NativeTensor[],
  inputs: NativeTensor[],
  createGraph: boolean,
  retainGraph: boolean | undefined,
  allowUnused: boolean,
): (NativeTensor | null)[];
export declare function setGradEnabled(enabled: boolean): boolean;
export declare function manualSeed(seed: number): void;
export declare function versions(): NativeVersions;
export declare function setNumThreads(threads: number): void;
/** Bytes of freed CPU tensor blocks kept for reuse (at most 128 MiB). */
export declare function cachedMemory(): number;
export declare function releaseCachedMemory(): void;

/** A box constraint; numbers or tensors broadcastable to the variable; missing bound: unbounded. */
export interface NativeBox {
  min?: number | NativeTensor;
  max?: number | NativeTensor;
}
/** One box for every variable, or one (or null) per variable. */
export type NativeSets = NativeBox | (NativeBox | null)[] | null;
export type NativeObjective = (x: NativeTensor[], y: NativeTensor[]) => NativeTensor;
export type NativeGradient = (x: NativeTensor[], y: NativeTensor[]) => NativeTensor[];
export interface NativeProblemDefinition {
  x: NativeTensor[];
  y: NativeTensor[];
  xSets?: NativeSets;
  ySets?: NativeSets;
  upper: NativeObjective;
  lower: NativeObjective;
  /** grad_y F, one tensor per LL variable; absent: autograd. */
  upperGradient?: NativeGradient | null;
  /** grad_y f, one tensor per LL variable; absent: autograd. */
  lowerGradient?: NativeGradient | null;
}
/** The options of the reference problems (core/tasks/registry.h: toy/*). */
export interface NativeToyOptions {
  n?: number;
  a?: number;
  c?: number;
  x0?: NativeTensor[];
  y0?: NativeTensor[];
  closedForm?: boolean;
}
export declare class NativeProblem {
  private constructor();
  variables(): { x: NativeTensor[]; y: NativeTensor[] };
  /**
   * The task's metrics at (x, y), computed on a worker thread; {} for problems without any.
   * settings change how the task measures, for this call (NativeOptionDeclarations.metricSettings).
   */
  metrics(x: NativeTensor[], y: NativeTensor[], settings?: Record<string, number>): Promise<Record<string, number>>;
  /** Tensors that show the solution (x, y) in a report; {} for most problems. */
  views(x: NativeTensor[], y: NativeTensor[]): Record<string, NativeTensor>;
  /** The task's data by name (copies), {} for toy problems. */
  data(): Record<string, NativeTensor>;
  /** y after `steps` gd steps of size lr on f at the starting x. */
  pretrain(steps: number, lr: number): Promise<NativeTensor[]>;
  /** Bytes of tensor memory the problem holds, reported to V8 (0 once disposed). */
  bytes(): number;
  /** Frees this handle's share now; solvers started from the problem keep theirs. */
  dispose(): void;
}
export interface NativeHyperCleaningOptions {
  dataset?: 'fashion-mnist' | 'mnist' | 'cifar10';
  root: string;
  model?: 'linear' | 'mlp';
  hidden?: number;
  trainSize?: number;
  validationSize?: number;
  testSize?: number;
  corruption?: number;
  batchSize?: number;
  seed?: number;
}
export interface NativeGanOptions {
  noiseSize?: number;
  hidden?: number;
  batchSize?: number;
  evaluationSamples?: number;
  seed?: number;
}
export interface NativeNasOptions {
  dataset?: 'fashion-mnist' | 'cifar10' | 'folders';
  root: string;
  channels?: number;
  cells?: number;
  nodes?: number;
  trainSize?: number;
  validationSize?: number;
  testSize?: number;
  metricsSize?: number;
  batchSize?: number;
  seed?: number;
}
export interface NativeNasRetrainOptions {
  dataset?: 'fashion-mnist' | 'cifar10' | 'folders';
  root: string;
  /** normal=op:input,...;normal_concat=2,3,...;reduce=...;reduce_concat=... (lib/tasks/nas-retrain.ts genotypeText). */
  genotype: string;
  channels?: number;
  cells?: number;
  trainSize?: number;
  validationSize?: number;
  testSize?: number;
  batchSize?: number;
  epochs?: number;
  dropPath?: number;
  auxiliaryWeight?: number;
  cutout?: number;
  cropPadding?: number;
  flip?: boolean;
  statisticsSize?: number;
  seed?: number;
}
export interface NativeFewShotOptions {
  dataset?: 'double-mnist' | 'double-fashion-mnist' | 'idx' | 'folders' | 'omniglot' | 'mini-imagenet';
  root: string;
  /** Where decoded image files are kept; empty or absent: not kept. */
  cacheDir?: string;
  imagesPerClass?: number;
  imageSize?: number;
  ways?: number;
  shots?: number;
  queries?: number;
  metaBatch?: number;
  backbone?: 'convnet4' | 'resnet12';
  channels?: number;
  layout?: 'heads' | 'maml';
  regularizer?: 'none' | 'lq' | 'smoothed-lq';
  regularizerWeight?: number;
  regularizerQ?: number;
  regularizerEpsilon?: number;
  evaluationEpisodes?: number;
  adaptSteps?: number;
  adaptLr?: number;
  seed?: number;
}
/** The registry's tasks by name, with their options (native/core/tasks/registry.cc). */
export interface NativeTaskOptions {
  'toy/convex': NativeToyOptions;
  'toy/singleton': NativeToyOptions;
  'toy/nonconvex': NativeToyOptions;
  'toy/bamm-convex': NativeToyOptions;
  'hyper-cleaning': NativeHyperCleaningOptions;
  gan: NativeGanOptions;
  'few-shot': NativeFewShotOptions;
  nas: NativeNasOptions;
  'nas-retrain': NativeNasRetrainOptions;
}
export type NativeTaskName = keyof NativeTaskOptions;
/** Where a task's tensors live; dtype defaults to the task's own (toys float64, hyper-cleaning float32). */
export interface NativePlacement {
  dtype?: NativeDtype;
  device?: string;
}
/** What one UL iteration did and cost. */
export interface NativeIterationRecord {
  iteration: number;
  /** F(x_t, y_K). */
  upper: number;
  /** f(x_t, y_K). */
  lower: number;
  /** Kbar under pessimistic truncation, else K (1 for sl-BAMM). */
  steps: number;
  gradientNormX: number;
  /** ||g_z|| with initAuxiliary, else 0. */
  gradientNormZ: number;
  unrollMs: number;
  hypergradientMs: number;
  updateMs: number;
  /** Peak bytes of tensor memory allocated during the iteration. */
  peakBytes: number;
}
export declare class NativeSolver {
  private constructor();
  step(): NativeIterationRecord;
  /** Runs iterations on a worker thread (native problems only); resolves with the number done. */
  run(iterations: number, onRecord: (record: NativeIterationRecord) => void): Promise<number>;
  /** In a process group: every rank takes rank 0's start (as the first run() does); resolves with the UL iterations done. */
  startFromRankZero(): Promise<number>;
  /** Asks a run to end after its current iteration. */
  stop(): void;
  /** Whether run() may be used: the problem's objectives are native. */
  anyThread(): boolean;
  values(): { x: NativeTensor[]; y: NativeTensor[]; z: NativeTensor[] };
  /** Writes the whole state and meta to path atomically (temp file, fsync, rename). */
  save(path: string, meta: string): Promise<void>;
  /** Restores a state saved by save(); resolves with its meta. On any error nothing changes. */
  load(path: string): Promise<string>;
  dispose(): void;
}
/** A solver config as validated by lib/config.ts, with tensors (initial, anchor) as handles. */
export type NativeSolverConfig = object;
export declare function createProblem(definition: NativeProblemDefinition): NativeProblem;
/** Builds a registry task on a worker thread (datasets are read there); the options are checked first, on this thread. */
export declare function createTask<N extends NativeTaskName>(name: N, options: NativeTaskOptions[N], placement?: NativePlacement): Promise<NativeProblem>;
/** createTask on this thread, for tasks without data to read (the reference problems). */
export declare function createTaskSync<N extends NativeTaskName>(name: N, options: NativeTaskOptions[N], placement?: NativePlacement): NativeProblem;
/** With a process group: solved data-parallel by its ranks (blocks until every rank has created its solver). */
export declare function createSolver(config: NativeSolverConfig, problem: NativeProblem, group?: NativeProcessGroup): NativeSolver;

/** A group of processes (c10d, Gloo) that solve one problem together. */
export declare class NativeProcessGroup {
  private constructor();
  rank(): number;
  worldSize(): number;
  /** Resolves once every rank has reached it. */
  barrier(): Promise<void>;
  /** The collectives this process took part in so far and their wall time (waiting for the others included). */
  communication(): { collectives: number; milliseconds: number };
  dispose(): void;
}
/** Joins the group that torchrun's variables in `environment` describe (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT, ...). */
export declare function joinProcessGroup(environment: Record<string, string | undefined>): Promise<NativeProcessGroup>;
export declare function checkSolverConfig(config: NativeSolverConfig): void;

/** One option as the C++ side declares it (native/core/option_fields.h). */
export interface NativeOptionField {
  type: 'number' | 'integer' | 'string' | 'boolean' | 'tensors';
  default?: number | string | boolean;
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
  exclusiveMaximum?: number;
  /** A text's allowed values. */
  enum?: string[];
}
export type NativeOptionFields = Record<string, NativeOptionField>;
/** The declarations the native config reader walks, per solver piece and member, and per task. */
export interface NativeOptionDeclarations {
  dynamics: Record<string, NativeOptionFields>;
  hypergradient: Record<string, NativeOptionFields>;
  optimizer: Record<string, NativeOptionFields>;
  prior: NativeOptionFields;
  bamm: NativeOptionFields;
  lowerLrSchedule: NativeOptionFields;
  tasks: Record<NativeTaskName, NativeOptionFields>;
  /** The settings a task's metrics() takes, for the tasks that take some. */
  metricSettings: Partial<Record<NativeTaskName, NativeOptionFields>>;
}
export declare function describeOptions(): NativeOptionDeclarations;

/** One edge of a derived cell: DARTS's operation name and the state it reads (0, 1: the cell's inputs; 2 + i: node i). */
export type NativeGenotypeEdge = [string, number];
/** A genotype in DARTS's structure. */
export interface NativeGenotype {
  normal: NativeGenotypeEdge[];
  normal_concat: number[];
  reduce: NativeGenotypeEdge[];
  reduce_concat: number[];
}
/** DARTS's derivation rule on alpha.normal and alpha.reduce ([edges, 8] each). */
export declare function deriveGenotype(alphaNormal: NativeTensor, alphaReduce: NativeTensor, nodes: number, multiplier: number): NativeGenotype;
/** The parameters of a genotype's evaluation network without its auxiliary head (DARTS's reported size). */
export declare function evaluationNetworkSize(
  genotype: NativeGenotype, options: { inChannels: number; imageSize: number; classes: number; channels: number; cells: number },
): number;

// Solvers: a fluent builder over the validated config, and runs that step one UL iteration at a
// time so the event loop is never blocked for longer than one iteration.
import type { NativeIterationRecord, NativeSolver, NativeTensor } from '../binding';
import { native } from './binding';
import {
  BammSchema, PriorSchema, TrainingSchema, TrajectorySolverSchema, dynamicsSchemas, hypergradientSchemas, initAuxiliarySchemas,
  optimizerSchemas, validate, validateVariant,
  type BammConfig, type BoxConfig, type DynamicsConfig, type HypergradientConfig, type OptimizerConfig, type SolverConfig,
  type LowerLrScheduleConfig, type TrajectorySolverConfig,
} from './config';
import * as check from './arguments';
import { ProcessGroup } from './distributed';
import { BilevelError } from './errors';
import { runLoop } from './engine/loop';
import { gd, reverse, sgd } from './methods';
import { Problem } from './problem';
import { Tensor, handleOf, tensorHandles } from './tensor';
import './symbols';

/** What one UL iteration did and cost. */
export type IterationRecord = NativeIterationRecord;

export interface Variables {
  x: Tensor[];
  y: Tensor[];
  /** The auxiliary variables z (initAuxiliary), else empty. */
  z: Tensor[];
}

export interface StartOptions {
  /**
   * Solve data-parallel with the group's ranks: each evaluates F and f on its share of every batch
   * (the batch size must divide by the world size), all hold the same values. Native problems only.
   */
  processGroup?: ProcessGroup;
}

export interface RunOptions extends StartOptions {
  iterations: number;
  onIteration?: (record: IterationRecord) => void;
  signal?: AbortSignal;
}

export interface RunResult extends Variables {
  records: IterationRecord[];
  /** True when the signal stopped the run before `iterations`. */
  aborted: boolean;
}

/** Tensors that are options but not JSON: z_0 and the prior's anchor. */
interface TensorOptions {
  initial?: Tensor[];
  anchor?: Tensor[];
}

function problemHandle(problem: Problem, field: string): Problem['native'] {
  if (!(problem instanceof Problem)) check.fail(field, 'a Problem', problem);
  return problem.native;
}

function abortSignal(signal: AbortSignal | undefined, field: string): void {
  if (signal !== undefined && !(signal instanceof AbortSignal)) check.fail(field, 'an AbortSignal', signal);
}

/** A run in progress: one problem, the solver's state, stepped by hand. */
export class SolverRun implements Disposable {
  #native: NativeSolver;
  /**
   * True when the run belongs to a process group. Its ranks agree before every iteration whether to
   * stop (one rank's stop stops all after the same iteration), so a stopped rank still takes part
   * in the next agreement: advance() then runs no iteration but does not return before asking.
   */
  readonly inProcessGroup: boolean;

  /** @internal */
  constructor(handle: NativeSolver, inProcessGroup = false) {
    this.#native = handle;
    this.inProcessGroup = inProcessGroup;
  }

  /**
   * In a process group: every rank takes rank 0's start, its problem's starting values and its
   * whole state (x, y, z, optimizer moments, sampler, iteration), checkpoint restored or not; the
   * first advance() does it when this was not called. So only rank 0 needs to load() a checkpoint,
   * and no rank waits for the others on the main thread. Resolves with the UL iterations done
   * (rank 0's); outside a group it changes nothing.
   */
  async startFromRankZero(): Promise<number> {
    return this.#native.startFromRankZero();
  }

  /**
   * One UL iteration. On failure (e.g. NON_FINITE) the variables keep their last good values.
   * Refused in a process group, whose ranks advance() together.
   */
  step(): IterationRecord {
    return this.#native.step();
  }

  /** True when the problem is native, so advance() runs off the main thread. */
  get offThread(): boolean {
    return this.#native.anyThread();
  }

  /**
   * Runs up to `iterations` UL iterations on a worker thread (native problems only), handing each
   * record to onRecord on the main thread; the signal stops it after the current iteration.
   * Resolves with the number of iterations done. The run refuses step() and values() meanwhile.
   */
  async advance(iterations: number, onRecord: (record: IterationRecord) => void, signal?: AbortSignal): Promise<number> {
    check.integer(iterations, 'advance.iterations', 0);
    check.callable(onRecord, 'advance.onRecord');
    abortSignal(signal, 'advance.signal');
    const stop = () => this.#native.stop();
    signal?.addEventListener('abort', stop, { once: true });
    try {
      if (signal?.aborted && !this.inProcessGroup) return 0;
      const running = this.#native.run(iterations, onRecord);
      // After run() cleared any earlier stop: the run's first agreement then says stop.
      if (signal?.aborted) stop();
      return await running;
    } finally {
      signal?.removeEventListener('abort', stop);
    }
  }

  /** Copies of the current x, y (y_K of the last iteration) and z. */
  values(): Variables {
    const v = this.#native.values();
    const wrap = (list: NativeTensor[]) => list.map((h) => new Tensor(h));
    return { x: wrap(v.x), y: wrap(v.y), z: wrap(v.z) };
  }

  /**
   * Writes a checkpoint: everything a bit-exact continuation needs (x, y, z, optimizer moments,
   * the iteration) and `meta`, a string of the caller's (e.g. the config it belongs to).
   * The file is written atomically, on a worker thread: a reader sees the old checkpoint or the
   * new, never half of one. The run is busy until the promise settles.
   */
  async save(path: string, meta = ''): Promise<void> {
    await this.#native.save(path, meta);
  }

  /**
   * Restores a checkpoint written by save() and returns its meta. A missing, truncated, corrupt or
   * mismatched file (another problem's shapes) rejects and leaves the run as it was.
   */
  async load(path: string): Promise<string> {
    return this.#native.load(path);
  }

  dispose(): void {
    this.#native.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

export class Solver {
  readonly config: SolverConfig;
  #tensors: TensorOptions;

  /** @internal Use Solver.builder(), Solver.bamm() or Solver.training(). */
  constructor(config: SolverConfig, tensors: TensorOptions = {}) {
    this.config = config;
    this.#tensors = tensors;
    native.checkSolverConfig(this.#nativeConfig());
  }

  static builder(): SolverBuilder {
    return new SolverBuilder();
  }

  /** sl-BAMM, the single-loop solver of docs/algorithms.md §7 (defaults: the authors' code). */
  static bamm(options: Partial<Omit<BammConfig, 'type'>> = {}): Solver {
    return new Solver(validate(BammSchema, { ...check.object(options, 'bamm.options'), type: 'bamm' }, 'bamm'));
  }

  /**
   * Single-level training (docs/algorithms.md §3.8): y descends f by `dynamics`, dynamics.steps
   * steps per iteration continuing from the last iterate (heavyBall keeps its velocity), while x
   * stays at the problem's start. The lr schedule takes the builder's lowerLrSchedule arguments.
   */
  static training(options: { dynamics: DynamicsConfig; lowerLrSchedule?: { epochs: number; minimum?: number; iterationsPerEpoch?: number } }): Solver {
    const { dynamics, lowerLrSchedule } = check.options(options, 'training.options', ['dynamics', 'lowerLrSchedule']);
    validateVariant(dynamicsSchemas, 'type', dynamics, 'training.dynamics');
    const schedule = lowerLrSchedule === undefined ? {} : { lowerLrSchedule: { type: 'cosine', ...check.object(lowerLrSchedule, 'training.lowerLrSchedule') } };
    return new Solver(validate(TrainingSchema, { type: 'training', dynamics, ...schedule }, 'training'));
  }

  /**
   * Starts a run on problem; step it with run.step(), dispose it when done. With a process group,
   * the ranks begin from rank 0's start (run.startFromRankZero(), or their first advance()).
   */
  start(problem: Problem, options: StartOptions = {}): SolverRun {
    const { processGroup } = check.options(options, 'start.options', ['processGroup']);
    if (processGroup !== undefined && !(processGroup instanceof ProcessGroup)) {
      throw new BilevelError('INVALID_ARGUMENT', 'start.options.processGroup: expected a ProcessGroup (ProcessGroup.join())');
    }
    const handle = native.createSolver(this.#nativeConfig(), problemHandle(problem, 'start.problem'), processGroup?.native);
    return new SolverRun(handle, processGroup !== undefined);
  }

  /**
   * Runs `iterations` UL iterations through the engine's loop (lib/engine/loop.ts): native problems
   * run on a worker thread; problems with TypeScript objectives step on the main thread, yielding
   * to the event loop after each iteration.
   */
  async run(problem: Problem, options: RunOptions): Promise<RunResult> {
    problemHandle(problem, 'run.problem');
    const { iterations, onIteration, signal, processGroup } = check.options(options, 'run.options', ['iterations', 'onIteration', 'signal', 'processGroup']);
    check.integer(iterations, 'run.options.iterations', 0);
    if (onIteration !== undefined) check.callable(onIteration, 'run.options.onIteration');
    abortSignal(signal, 'run.options.signal');
    using run = this.start(problem, { processGroup });
    const records: IterationRecord[] = [];
    const done = await runLoop(run, {
      iterations,
      signal,
      onRecord: (record) => {
        records.push(record);
        onIteration?.(record);
      },
    });
    return { ...run.values(), records, aborted: done < iterations };
  }

  #nativeConfig(): object {
    const { initial, anchor } = this.#tensors;
    const config = this.config as TrajectorySolverConfig;
    if (config.type === undefined || config.type === 'trajectory') {
      return {
        ...config,
        initAuxiliary: config.initAuxiliary && { ...config.initAuxiliary, initial: initial?.map(handleOf) },
        prior: config.prior && { ...config.prior, anchor: anchor?.map(handleOf) },
      };
    }
    return config;
  }
}

export interface InitAuxiliaryOptions {
  /** z's optimizer. @default sgd() (lr 0.01) */
  optimizer?: OptimizerConfig;
  /** Z, the box z is projected onto. @default the LL set */
  set?: BoxConfig;
  /** z_0. @default the problem's y_0 */
  initial?: Tensor[];
}

export interface PriorOptions {
  /** lambda in g(z) = lambda / 2 ||z - z_p||^2. @default 1 */
  weight?: number;
  /** Apply g during the first N UL iterations only (0: always). @default 0 */
  iterations?: number;
  /** z_p. @default z_0 */
  anchor?: Tensor[];
}

/** Fluent, typed construction of a trajectory solver; build() refuses nonsense combinations. */
export class SolverBuilder {
  #dynamics: DynamicsConfig = gd();
  #hypergradient: HypergradientConfig = reverse();
  #upper: OptimizerConfig = sgd();
  #initAuxiliary: TrajectorySolverConfig['initAuxiliary'] = false;
  #prior: TrajectorySolverConfig['prior'] = false;
  #truncation: TrajectorySolverConfig['truncation'] = 'none';
  #lowerStart: TrajectorySolverConfig['lowerStart'] = 'fixed';
  #lowerLrSchedule: Partial<LowerLrScheduleConfig> | undefined;
  #tensors: TensorOptions = {};

  dynamics(dynamics: DynamicsConfig): this {
    this.#dynamics = dynamics;
    return this;
  }

  hypergradient(hypergradient: HypergradientConfig): this {
    this.#hypergradient = hypergradient;
    return this;
  }

  /** The UL optimizer for x. */
  upper(optimizer: OptimizerConfig): this {
    this.#upper = optimizer;
    return this;
  }

  /** Initialization Auxiliary (Eq. 5): y_0 = z, learned jointly with x. */
  initAuxiliary(options: InitAuxiliaryOptions = {}): this {
    const field = 'initAuxiliary.options';
    const { optimizer = sgd(), set, initial } = check.options(options, field, ['optimizer', 'set', 'initial']);
    if (initial !== undefined) tensorHandles(initial, `${field}.initial`);
    this.#initAuxiliary = validateVariant(initAuxiliarySchemas, 'optimizer', { ...optimizer, set }, 'initAuxiliary');
    this.#tensors.initial = initial;
    return this;
  }

  /** Prior regularization of z (Eq. 6); needs initAuxiliary. */
  prior(options: PriorOptions = {}): this {
    const { anchor, ...rest } = check.object(options, 'prior.options');
    if (anchor !== undefined) tensorHandles(anchor, 'prior.options.anchor');
    this.#prior = validate(PriorSchema, rest, 'prior');
    this.#tensors.anchor = anchor;
    return this;
  }

  /** PTT (Alg. 3): differentiate F(x, y_Kbar), Kbar = argmax_k F(x, y_k). */
  pessimisticTruncation(options: {
    /** Re-unroll the Kbar steps with the graph, memory O(Kbar). @default false */
    recompute?: boolean;
  } = {}): this {
    const { recompute } = check.options(options, 'pessimisticTruncation.options', ['recompute']);
    if (recompute !== undefined) check.boolean(recompute, 'pessimisticTruncation.options.recompute');
    this.#truncation = recompute ? { type: 'pessimistic', recompute: true } : 'pessimistic';
    return this;
  }

  /** y_0 of each UL iteration: the problem's start ('fixed') or the last y_K ('warm'). */
  lowerStart(mode: 'fixed' | 'warm'): this {
    this.#lowerStart = mode;
    return this;
  }

  /** dynamics.lr annealed by a cosine over epochs of UL iterations, as DARTS trains its weights. */
  lowerLrSchedule(schedule: { epochs: number; minimum?: number; iterationsPerEpoch?: number }): this {
    this.#lowerLrSchedule = { type: 'cosine', ...schedule };
    return this;
  }

  build(): Solver {
    // Each family first, so a bad member gets its own message rather than "expected union value".
    validateVariant(dynamicsSchemas, 'type', this.#dynamics, 'dynamics');
    validateVariant(hypergradientSchemas, 'type', this.#hypergradient, 'hypergradient');
    validateVariant(optimizerSchemas, 'optimizer', this.#upper, 'upper');
    const config = validate(TrajectorySolverSchema, {
      type: 'trajectory',
      dynamics: this.#dynamics,
      hypergradient: this.#hypergradient,
      upper: this.#upper,
      initAuxiliary: this.#initAuxiliary,
      prior: this.#prior,
      truncation: this.#truncation,
      lowerStart: this.#lowerStart,
      ...(this.#lowerLrSchedule === undefined ? {} : { lowerLrSchedule: this.#lowerLrSchedule }),
    }, 'solver');
    return new Solver(config, { ...this.#tensors });
  }
}

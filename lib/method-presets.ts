// The methods `bilevel compare` runs, in one table: each is a solver config built from the run
// config's own dynamics settings (K and the LL step size), its UL optimizer and its z optimizer,
// so that only the method-specific parts differ between the methods compared. A method that
// needs a layout of the problem's own (MAML: few-shot's) names the tasks it applies to and the
// problem fields it sets.
import type { DynamicsConfig, SolverConfig } from './config';
import { BilevelError } from './errors';

/** What the methods share, taken from the config's solver. */
export interface SharedSettings {
  /** K, the LL steps per UL iteration. */
  steps: number;
  /** The LL step size (gd's lr; 1 / (2 L_f) for accelerated dynamics). */
  lr: number;
  upper: unknown;
  /** z's optimizer for the methods with IA: the config's initAuxiliary, else sgd at the LL step size. */
  initAuxiliary: unknown;
  /** The config's prior (weight, iterations) for aitp, else weight 1 throughout. */
  prior: unknown;
  /** y_0 of the methods without IA: the config's lowerStart. */
  lowerStart: 'fixed' | 'warm';
  /** The config's own dynamics, which AIT keeps (gd or accelerated, as the user chose). */
  dynamics: DynamicsConfig;
}

type SolverJson = Record<string, unknown>;

const gd = (s: SharedSettings) => ({ type: 'gd', lr: s.lr, steps: s.steps });
const withoutIA = (s: SharedSettings, dynamics: object, hypergradient: object): SolverJson =>
  ({ dynamics, hypergradient, upper: s.upper, lowerStart: s.lowerStart });
const withIAandPTT = (s: SharedSettings, dynamics: object): SolverJson =>
  ({ dynamics, hypergradient: { type: 'reverse' }, upper: s.upper, initAuxiliary: s.initAuxiliary, truncation: 'pessimistic' });

/** A method: its description, its solver config, and for a task-specific method, what it needs of the problem. */
interface MethodPreset {
  label: string;
  solver: (s: SharedSettings) => SolverJson;
  /** The run config's problem names it applies to (absent: every problem). */
  tasks?: readonly string[];
  /** Fields it sets on the run config's problem. */
  problem?: Readonly<Record<string, unknown>>;
}

/** Method name -> description and solver config. */
export const methodPresets = {
  rhg: { label: 'RHG: gd, reverse', solver: (s: SharedSettings) => withoutIA(s, gd(s), { type: 'reverse' }) },
  trhg: {
    label: 'T-RHG: gd, reverse over the last K/2 steps',
    solver: (s: SharedSettings) => withoutIA(s, gd(s), { type: 'truncated', steps: Math.max(1, Math.floor(s.steps / 2)) }),
  },
  bda: {
    label: 'BDA: bda dynamics (mu 0.5), reverse',
    solver: (s: SharedSettings) =>
      withoutIA(s, { type: 'bda', lr: s.lr, upperLr: s.lr, mu: 0.5, steps: s.steps }, { type: 'reverse' }),
  },
  cg: { label: 'CG: gd, implicit gradient by conjugate gradients', solver: (s: SharedSettings) => withoutIA(s, gd(s), { type: 'cg' }) },
  neumann: {
    label: 'Neumann: gd, implicit gradient by a Neumann series (alpha = lr)',
    solver: (s: SharedSettings) => withoutIA(s, gd(s), { type: 'neumann', alpha: s.lr }),
  },
  iaptt: { label: 'IAPTT-GM: gd, IA + PTT', solver: (s: SharedSettings) => withIAandPTT(s, gd(s)) },
  // AIT_NC is IA + PTT with gd or accelerated dynamics: AIT keeps the config's own.
  ait: { label: "AIT: the config's dynamics, IA + PTT", solver: (s: SharedSettings) => withIAandPTT(s, s.dynamics) },
  aitp: {
    label: "AIT_P: the config's dynamics, IA + PTT + prior at the pretrained anchor",
    solver: (s: SharedSettings) => ({ ...withIAandPTT(s, s.dynamics), prior: s.prior }),
  },
  // x = the network's initialization, y = each task's offset, from zero every iteration: gd on y is
  // MAML's inner loop and reverse mode through it MAML's meta-gradient (docs/algorithms.md §13.7).
  maml: {
    label: "MAML: the network's initialization as x, gd on per-task offsets, reverse",
    solver: (s: SharedSettings) => ({ ...withoutIA(s, gd(s), { type: 'reverse' }), lowerStart: 'fixed' }),
    tasks: ['few-shot'],
    problem: { layout: 'maml' },
  },
} as const satisfies Record<string, MethodPreset>;

export type MethodName = keyof typeof methodPresets;
export const methodNames = Object.keys(methodPresets) as MethodName[];

export const isMethodName = (name: string): name is MethodName => Object.hasOwn(methodPresets, name);

/** Whether a method applies to the problem a run config names. */
export const appliesTo = (method: MethodName, problemName: string): boolean => {
  const { tasks } = methodPresets[method] as MethodPreset;
  return tasks === undefined || tasks.includes(problemName);
};

/** The methods that apply to the problem a run config names, in the table's order. */
export const methodsFor = (problemName: string): MethodName[] => methodNames.filter((method) => appliesTo(method, problemName));

/** The LL step size of a dynamics config. */
function lowerStepSize(dynamics: DynamicsConfig): number {
  if (dynamics.type === 'accelerated') return 1 / (2 * dynamics.lipschitz);
  return dynamics.lr;
}

/** The shared settings of a trajectory solver config; sl-BAMM has no K to share. */
export function sharedSettings(solver: SolverConfig): SharedSettings {
  if (solver.type === 'bamm' || solver.type === 'training') {
    throw new BilevelError('INVALID_ARGUMENT', `solver: compare takes K and the LL step size from a trajectory solver, not ${solver.type}`);
  }
  const { dynamics } = solver;
  const lr = lowerStepSize(dynamics);
  return {
    dynamics,
    steps: dynamics.steps,
    lr,
    upper: solver.upper,
    initAuxiliary: solver.initAuxiliary || { optimizer: 'sgd', lr },
    prior: solver.prior || { weight: 1 },
    lowerStart: solver.initAuxiliary ? 'fixed' : (solver.lowerStart ?? 'fixed'),
  };
}

/** The solver config (JSON, to be validated as a run config's solver) of one method. */
export const presetSolver = (method: MethodName, shared: SharedSettings): SolverJson => methodPresets[method].solver(shared);

/** The problem fields a method sets ({} for most). */
export const presetProblem = (method: MethodName): Readonly<Record<string, unknown>> => (methodPresets[method] as MethodPreset).problem ?? {};

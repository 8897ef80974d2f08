// npm run example:figures [-- OUT_DIR] — the numerical experiments of the AIT paper (Figs. 1-4):
// method-by-method convergence on Eq. 18, 19 and 20, written as CSV (one row per method and
// UL iteration: ||x - x*|| / ||x*||, |F - F*| / (|F*| + 1), and K or Kbar).
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  Solver, adam, bda, cg, gd, nesterov, neumann, problems, reverse, sgd, tensor, truncated, zeros,
  type Problem,
} from '../lib';

interface Figure {
  file: string;
  problem: Problem;
  iterations: number;
  methods: Record<string, Solver>;
}

function relativeError(x: ArrayLike<number>, star: number[]): number {
  let diff = 0;
  let size = 0;
  star.forEach((s, i) => {
    diff += (x[i] - s) ** 2;
    size += s ** 2;
  });
  return Math.sqrt(diff / size);
}

function curve(solver: Solver, problem: Problem, iterations: number): string[] {
  const { x: xStar, upper: fStar } = problem.optimum!;
  using run = solver.start(problem);
  const rows: string[] = [];
  for (let t = 0; t < iterations; t++) {
    const x = run.values().x[0].toArray() as Float64Array;
    const record = run.step();
    const gap = Math.abs(record.upper - fStar) / (Math.abs(fStar) + 1);
    rows.push(`${t},${relativeError(x, xStar[0])},${gap},${record.steps}`);
  }
  return rows;
}

// Atomic: a reader never sees a half-written file.
function writeAtomically(file: string, text: string): void {
  const partial = `${file}.partial`;
  fs.writeFileSync(partial, text);
  fs.renameSync(partial, file);
}

const f64 = { dtype: 'float64' } as const;
const convex = problems.toy.convex();
const convexDynamics = bda({ lr: 0.5, upperLr: 0.005, mu: 0.5, steps: 16 });
const eq18 = () => Solver.builder().dynamics(convexDynamics).upper(sgd({ lr: 0.01 }));
const singletonGd = gd({ lr: 0.001, steps: 16 });
const nonconvexGd = gd({ lr: 0.1, steps: 50 });
const eq20 = () => Solver.builder().dynamics(nonconvexGd).upper(sgd({ lr: 0.01 }));
const eq20Methods = (): Record<string, Solver> => ({
  RHG: eq20().hypergradient(reverse()).build(),
  'T-RHG (T=10)': eq20().hypergradient(truncated({ steps: 10 })).build(),
  CG: eq20().hypergradient(cg({ iterations: 20 })).build(),
  Neumann: eq20().hypergradient(neumann({ alpha: 0.1, terms: 20 })).build(),
  BDA: Solver.builder().dynamics(bda({ lr: 0.1, upperLr: 0.1, mu: 0.5, steps: 50 })).upper(sgd({ lr: 0.01 })).build(),
  'AIT_NC (IA + PTT)': eq20().initAuxiliary({ optimizer: sgd({ lr: 0.2 }) }).pessimisticTruncation().build(),
});

const figures: Figure[] = [
  {
    file: 'fig1-eq18-convex.csv',
    problem: convex,
    iterations: 1000,
    methods: {
      BDA: eq18().build(),
      'BDA + IA': eq18().initAuxiliary({ optimizer: sgd({ lr: 0.01 }) }).build(),
      'BDA + IA + P (AIT_C)': eq18().initAuxiliary({ optimizer: sgd({ lr: 0.01 }) })
        .prior({ weight: 0.1, iterations: 10, anchor: [zeros([20], f64), zeros([20], f64)] }).build(),
      RHG: Solver.builder().dynamics(gd({ lr: 0.5, steps: 16 })).upper(sgd({ lr: 0.01 })).build(),
      CG: Solver.builder().dynamics(gd({ lr: 0.5, steps: 16 })).hypergradient(cg({ damping: 1e-3 })).upper(sgd({ lr: 0.01 })).build(),
      Neumann: Solver.builder().dynamics(gd({ lr: 0.5, steps: 16 })).hypergradient(neumann({ alpha: 0.5 })).upper(sgd({ lr: 0.01 })).build(),
    },
  },
  {
    file: 'fig2-eq19-singleton.csv',
    problem: problems.toy.singleton(),
    iterations: 500,
    methods: {
      RHG: Solver.builder().dynamics(singletonGd).upper(sgd({ lr: 0.01 })).build(),
      'RHG + IA': Solver.builder().dynamics(singletonGd).upper(sgd({ lr: 0.01 }))
        .initAuxiliary({ optimizer: adam({ lr: 0.02 }), set: { min: -2, max: 2 } }).build(),
      'RHG + IA + A (nesterov)': Solver.builder().dynamics(nesterov({ lr: 0.001, steps: 16 })).upper(sgd({ lr: 0.01 }))
        .initAuxiliary({ optimizer: adam({ lr: 0.02 }), set: { min: -2, max: 2 } }).build(),
    },
  },
  { file: 'fig3-eq20-start-6-0.csv', problem: problems.toy.nonconvex(), iterations: 600, methods: eq20Methods() },
  {
    file: 'fig4-eq20-start-8-8.csv',
    problem: problems.toy.nonconvex({ x0: [tensor([-8], [1], f64)], y0: [tensor([-8], [1], f64)] }),
    iterations: 600,
    methods: eq20Methods(),
  },
];

const outDir = path.resolve(process.argv[2] ?? path.join(__dirname, 'output'));
fs.mkdirSync(outDir, { recursive: true });
for (const figure of figures) {
  const lines = ['method,iteration,xError,upperGap,steps'];
  const finals: string[] = [];
  for (const [name, solver] of Object.entries(figure.methods)) {
    const rows = curve(solver, figure.problem, figure.iterations);
    lines.push(...rows.map((r) => `"${name}",${r}`));
    const last = rows.at(-1)!.split(',');
    finals.push(`${name}: xError ${Number(last[1]).toExponential(2)}, upperGap ${Number(last[2]).toExponential(2)}`);
  }
  writeAtomically(path.join(outDir, figure.file), `${lines.join('\n')}\n`);
  console.log(`${figure.file} (${figure.iterations} iterations)\n  ${finals.join('\n  ')}`);
}

// npm run example — Eq. 20 (non-convex LL) from (x0, y0) = (-6, 0): plain RHG against AIT
// (Initialization Auxiliary + Pessimistic Trajectory Truncation). No data needed.
import { Solver, gd, problems, reverse, sgd, type IterationRecord } from '../lib';

const problem = problems.toy.nonconvex({ n: 1, a: 2, c: 2 });
const xStar = problem.optimum!.x[0][0];
const dynamics = gd({ lr: 0.1, steps: 50 });
const iterations = 600;

const rhg = Solver.builder().dynamics(dynamics).hypergradient(reverse()).upper(sgd({ lr: 0.01 })).build();
const ait = Solver.builder()
  .dynamics(dynamics)
  .hypergradient(reverse())
  .initAuxiliary({ optimizer: sgd({ lr: 0.2 }) })
  .pessimisticTruncation()
  .upper(sgd({ lr: 0.01 }))
  .build();

interface Trace {
  xs: number[]; // x_t, the UL iterate iteration t starts from; xs[iterations] is the final x
  records: IterationRecord[];
}

// Steps by hand to read x after every UL iteration.
function trace(solver: Solver): Trace {
  using run = solver.start(problem);
  const xs = [run.values().x[0].item()];
  const records: IterationRecord[] = [];
  for (let t = 0; t < iterations; t++) {
    records.push(run.step());
    xs.push(run.values().x[0].item());
  }
  return { xs, records };
}

const row = (cells: (string | number)[]) => cells.map((c) => String(c).padStart(10)).join(' |');
const fmt = (v: number) => v.toFixed(4);
const error = (x: number) => Math.abs(x - xStar) / Math.abs(xStar);
const msPerIteration = (records: IterationRecord[]) =>
  records.reduce((sum, r) => sum + r.unrollMs + r.hypergradientMs + r.updateMs, 0) / records.length;

const start = Date.now();
const plain = trace(rhg);
const augmented = trace(ait);
console.log(`Eq. 20, n = 1, start (-6, 0): x* = 3 pi / 4 = ${fmt(xStar)}, F* = ${fmt(problem.optimum!.upper)}`);
console.log(row(['iteration', 'RHG x', 'RHG F', 'AIT x', 'AIT F', 'AIT Kbar']));
for (const t of [0, 10, 50, 100, 200, 300, 400, 500, iterations - 1]) {
  const [a, b] = [plain.records[t], augmented.records[t]];
  console.log(row([t, fmt(plain.xs[t]), fmt(a.upper), fmt(augmented.xs[t]), fmt(b.upper), b.steps]));
}
console.log(row(['final', fmt(plain.xs[iterations]), '', fmt(augmented.xs[iterations]), '', '']));
console.log(`|x - x*| / |x*|: RHG ${fmt(error(plain.xs[iterations]))} (a wrong basin), AIT ${fmt(error(augmented.xs[iterations]))}`);
console.log(
  `ms per UL iteration: RHG ${msPerIteration(plain.records).toFixed(3)}, AIT ${msPerIteration(augmented.records).toFixed(3)};` +
    ` total ${((Date.now() - start) / 1000).toFixed(1)} s`,
);

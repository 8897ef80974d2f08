// npm run bench:solver — time per UL iteration and peak solver memory on Eq. 20 for n in
// {1, 100, 10000} and K in {10, 50, 200}: reverse (RHG), PTT, PTT-recompute and truncated, and
// TypeScript objectives against the native built-in. One LibTorch thread.
//
// Every cell starts from (x0, y0) = (-8, -8 e) with step sizes of 1e-12, so each measured
// iteration sees the same x, z and Kbar: the numbers are per-iteration costs at a fixed point.
import {
  Solver, defineProblem, full, gd, problems, reverse, setNumThreads, sgd, truncated, type IterationRecord, type Problem,
} from '../lib';

const f64 = { dtype: 'float64' } as const;
const frozen = sgd({ lr: 1e-12 });

function nativeProblem(n: number, closedForm = true): Problem {
  return problems.toy.nonconvex({ n, closedForm, x0: [full([1], -8, f64)], y0: [full([n], -8, f64)] });
}

// The same formulas as the built-in, as TypeScript callbacks; with closedForm, also grad_y f.
function typescriptProblem(n: number, closedForm = false): Problem {
  return defineProblem({
    x: full([1], -8, f64),
    y: full([n], -8, f64),
    ySet: { min: -10, max: 10 },
    upper: ([x], [y]) => x.sub(2).pow(2).sum().add(y.sub(4).pow(2).sum()),
    lower: ([x], [y]) => x.add(y).sub(2).sin().sum(),
    lowerGradient: closedForm ? ([x], [y]) => [x.add(y).sub(2).cos()] : undefined,
  });
}

function methods(K: number): Record<string, Solver> {
  const base = () => Solver.builder().dynamics(gd({ lr: 0.1, steps: K })).upper(frozen);
  return {
    reverse: base().hypergradient(reverse()).build(),
    PTT: base().initAuxiliary({ optimizer: frozen }).pessimisticTruncation().build(),
    'PTT-recompute': base().initAuxiliary({ optimizer: frozen }).pessimisticTruncation({ recompute: true }).build(),
    [`truncated(${Math.ceil(K / 5)})`]: base().hypergradient(truncated({ steps: Math.ceil(K / 5) })).build(),
  };
}

interface Cell {
  total: number;
  unroll: number;
  backward: number;
  peakBytes: number;
  steps: number;
}

// Mean over iterations after one warm-up, for at least 0.4 s or 5 iterations.
function measure(solver: Solver, problem: Problem): Cell {
  using run = solver.start(problem);
  run.step();
  const records: IterationRecord[] = [];
  const start = performance.now();
  while (records.length < 5 || (performance.now() - start < 400 && records.length < 2000)) records.push(run.step());
  const elapsed = (performance.now() - start) / records.length;
  const mean = (pick: (r: IterationRecord) => number) => records.reduce((s, r) => s + pick(r), 0) / records.length;
  return {
    total: elapsed,
    unroll: mean((r) => r.unrollMs),
    backward: mean((r) => r.hypergradientMs),
    peakBytes: Math.max(...records.map((r) => r.peakBytes)),
    steps: records.at(-1)!.steps,
  };
}

const pad = (s: string | number, w: number) => String(s).padStart(w);
const kib = (bytes: number) => (bytes / 1024).toFixed(1);

function main(): void {
  setNumThreads(1);
  console.log('|     n |   K | method           | Kbar | ms/iter | unroll ms | backward ms | backward / reverse | Kbar / K | peak KiB |');
  console.log('|------:|----:|------------------|-----:|--------:|----------:|------------:|-------------------:|---------:|---------:|');
  const typescriptRows: string[] = [];
  for (const n of [1, 100, 10000]) {
    for (const K of [10, 50, 200]) {
      const problem = nativeProblem(n);
      let reverseCell: Cell | undefined;
      for (const [name, solver] of Object.entries(methods(K))) {
        const cell = measure(solver, problem);
        reverseCell ??= cell;
        console.log(
          `| ${pad(n, 5)} | ${pad(K, 3)} | ${name.padEnd(16)} | ${pad(cell.steps, 4)} | ${pad(cell.total.toFixed(3), 7)} | ` +
            `${pad(cell.unroll.toFixed(3), 9)} | ${pad(cell.backward.toFixed(3), 11)} | ` +
            `${pad((cell.backward / reverseCell.backward).toFixed(2), 18)} | ${pad((cell.steps / K).toFixed(2), 8)} | ` +
            `${pad(kib(cell.peakBytes), 8)} |`,
        );
      }
      const rhg = methods(K).reverse;
      const autograd = measure(rhg, nativeProblem(n, false));
      const ts = measure(rhg, typescriptProblem(n));
      const tsClosed = measure(rhg, typescriptProblem(n, true));
      typescriptRows.push(
        `| ${pad(n, 5)} | ${pad(K, 3)} | ${pad(autograd.total.toFixed(3), 15)} | ${pad(ts.total.toFixed(3), 11)} | ` +
          `${pad((ts.total / autograd.total).toFixed(2), 5)} | ${pad(reverseCell!.total.toFixed(3), 13)} | ` +
          `${pad(tsClosed.total.toFixed(3), 16)} | ${pad((tsClosed.total / reverseCell!.total).toFixed(2), 5)} |`,
      );
    }
  }
  console.log('\nreverse (RHG), ms per UL iteration, native built-in against TypeScript objectives: both through');
  console.log('autograd (built-in with closedForm: false), and both with the closed-form grad_y f = cos(x + y - c)\n');
  console.log('|     n |   K | native autograd | TS autograd | ratio | native closed | TS closed (grad) | ratio |');
  console.log('|------:|----:|----------------:|------------:|------:|--------------:|-----------------:|------:|');
  for (const row of typescriptRows) console.log(row);
}

main();

// The engine's iteration loop (lib/engine/loop.ts), on a native problem (chunks on a worker
// thread) and on TypeScript objectives (stepped on the main thread): where the chunks stop, which
// cadences act there, a resumed count, and the abort signal.
import { Solver, defineProblem, gd, problems, sgd, tensor, type Problem } from '../../lib';
import { runLoop, type Cadence } from '../../lib/engine/loop';

const solver = Solver.builder().dynamics(gd({ lr: 0.1, steps: 2 })).upper(sgd({ lr: 0.01 })).build();

const f64 = (data: number[]) => tensor(data, [data.length], { dtype: 'float64' });
const typescriptProblem = () => defineProblem({
  x: f64([-6]),
  y: f64([0]),
  upper: ([x], [y]) => x.sub(2).pow(2).sum().add(y.sub(4).pow(2).sum()),
  lower: ([x], [y]) => x.add(y).sub(2).sin().sum(),
});

const kinds: [string, () => Problem][] = [['native', () => problems.toy.nonconvex()], ['TypeScript', typescriptProblem]];

/** Cadences that log where they act, as "name@done". */
function logged(specs: [string, number | undefined, boolean][]): { cadences: Cadence[]; acts: string[] } {
  const acts: string[] = [];
  const cadences = specs.map(([name, every, atEnd]) => ({ every, atEnd, act: (done: number) => { acts.push(`${name}@${done}`); } }));
  return { cadences, acts };
}

describe.each(kinds)('runLoop on a %s problem', (_kind, makeProblem) => {
  test('stops at every multiple of each period, acts there in the given order, and at the end where asked', async () => {
    using run = solver.start(makeProblem());
    const { cadences, acts } = logged([['a', 4, true], ['b', 6, false], ['c', undefined, true]]);
    const iterations: number[] = [];
    const done = await runLoop(run, { iterations: 13, onRecord: (r) => iterations.push(r.iteration), cadences });
    expect(done).toBe(13);
    expect(iterations).toEqual(Array.from({ length: 13 }, (_, i) => i));
    expect(acts).toEqual(['a@4', 'b@6', 'a@8', 'a@12', 'b@12', 'a@13', 'c@13']);
  });

  test('a resumed count keeps the rhythm of the run\'s start', async () => {
    using run = solver.start(makeProblem());
    const { cadences, acts } = logged([['a', 4, false]]);
    expect(await runLoop(run, { iterations: 10, done: 5, cadences })).toBe(10);
    expect(acts).toEqual(['a@8']);
  });

  test('the signal stops it after the current iteration; the end cadences act there', async () => {
    using run = solver.start(makeProblem());
    const controller = new AbortController();
    const { cadences, acts } = logged([['a', 3, false], ['end', undefined, true]]);
    const onRecord = () => {
      if (acts.length > 0) controller.abort();
    };
    const done = await runLoop(run, { iterations: 1000, signal: controller.signal, onRecord, cadences });
    expect(done).toBeGreaterThan(3);
    expect(done).toBeLessThan(1000);
    expect(acts).toEqual(['a@3', ...(done % 3 === 0 ? [`a@${done}`] : []), `end@${done}`]);
  });

  test('an aborted signal runs nothing', async () => {
    using run = solver.start(makeProblem());
    const { cadences, acts } = logged([['end', undefined, true]]);
    expect(await runLoop(run, { iterations: 5, signal: AbortSignal.abort(), cadences })).toBe(0);
    expect(acts).toEqual([]);
  });
});

test('a signal that comes during the last iteration of a chunk still ends the loop there: the end cadences act', async () => {
  // Stepped on the main thread, so the abort lands exactly in the chunk's last iteration. Without
  // the end cadences there, a run's task metrics would be those of an earlier stop.
  using run = solver.start(typescriptProblem());
  const controller = new AbortController();
  const { cadences, acts } = logged([['a', 3, false], ['end', undefined, true]]);
  const onRecord = (record: { iteration: number }) => {
    if (record.iteration === 2) controller.abort();
  };
  expect(await runLoop(run, { iterations: 10, signal: controller.signal, onRecord, cadences })).toBe(3);
  expect(acts).toEqual(['a@3', 'end@3']);
});

// Lists of tensors handed to native entry points (metrics' x and y, initAuxiliary's z_0, the
// prior's anchor) are checked against the problem's variables: every count from 0 to 3 and a
// wrong shape, for problems with one and with two LL variables. The right lists work; every
// other is a coded refusal, never a read past the end of a vector.
import { BilevelError, Solver, problems, zeros, type Problem, type Tensor } from '../lib';

const f64 = { dtype: 'float64' } as const;
const cases: [string, () => Problem][] = [
  ['Eq. 20 (one LL variable)', () => problems.toy.nonconvex({ n: 3 })],
  ['Eq. 18 (two LL variables)', () => problems.toy.convex({ n: 4 })],
];

/** count tensors shaped like the first of `like` (so a wrong count is not also a wrong shape). */
const listOf = (like: Tensor[], count: number): Tensor[] => Array.from({ length: count }, (_, i) => zeros(like[Math.min(i, like.length - 1)].shape, f64));
const counts = [0, 1, 2, 3];

async function outcome(call: () => Promise<unknown>): Promise<'ok' | string> {
  try {
    await call();
    return 'ok';
  } catch (err) {
    expect(err).toBeInstanceOf(BilevelError);
    return (err as BilevelError).code;
  }
}

describe.each(cases)('%s', (_name, make) => {
  const problem = make();
  const { x, y } = problem.initial();

  test.each(counts.flatMap((nx) => counts.map((ny) => [nx, ny] as const)))('metrics with %i x and %i y tensors', async (nx, ny) => {
    const result = await outcome(() => problem.metrics({ x: listOf(x, nx), y: listOf(y, ny) }));
    if (nx === x.length && ny === y.length) expect(result).toBe('ok');
    else expect(['SHAPE_MISMATCH', 'INVALID_ARGUMENT']).toContain(result);
  });

  test('metrics with a wrongly shaped tensor', async () => {
    const wrong = [zeros([y[0].shape[0] + 1], f64), ...y.slice(1)];
    expect(await outcome(() => problem.metrics({ x, y: wrong }))).toBe('SHAPE_MISMATCH');
  });

  test.each(counts)('initAuxiliary with %i initial tensors, and a prior anchor of as many', async (count) => {
    const initial = listOf(y, count);
    const withInitial = async () => Solver.builder().initAuxiliary({ initial }).build().start(problem).dispose();
    const withAnchor = async () => Solver.builder().initAuxiliary().prior({ anchor: initial }).build().start(problem).dispose();
    for (const start of [withInitial, withAnchor]) {
      const result = await outcome(start);
      if (count === y.length) expect(result).toBe('ok');
      else expect(['SHAPE_MISMATCH', 'INVALID_ARGUMENT']).toContain(result);
    }
  });
});

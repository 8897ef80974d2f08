// TypeScript consumer (CommonJS output) type-checked against the installed declarations.
import { BilevelError, Solver, gd, problems, reverse, sgd, tensor, type IterationRecord, type Tensor } from 'bilevel';

export async function solve(): Promise<number> {
  using t: Tensor = tensor([1, 2, 3], [3], { dtype: 'float64' });
  const solver = Solver.builder().dynamics(gd({ lr: 0.1, steps: 5 })).hypergradient(reverse()).upper(sgd({ lr: 0.01 })).build();
  const result = await solver.run(problems.toy.nonconvex(), { iterations: 2 });
  const last: IterationRecord | undefined = result.records.at(-1);
  const code: BilevelError['code'] = 'SHAPE_MISMATCH';
  return t.sum().item() + (last?.upper ?? 0) + code.length;
}

// CommonJS consumer: require('bilevel'), build a tensor, solve a built-in toy problem.
const assert = require('node:assert/strict');
const { Solver, gd, problems, reverse, sgd, tensor } = require('bilevel');

async function main() {
  const t = tensor([1, 2, 3], [3], { dtype: 'float64' });
  assert.deepEqual(Array.from(t.add(1).toArray()), [2, 3, 4]);

  const rhg = Solver.builder()
    .dynamics(gd({ lr: 0.1, steps: 50 }))
    .hypergradient(reverse())
    .upper(sgd({ lr: 0.01 }))
    .build();
  const { records, x } = await rhg.run(problems.toy.nonconvex({ dtype: 'float64' }), { iterations: 20 });
  assert.equal(records.length, 20);
  assert.ok(records[19].upper < records[0].upper, `F did not decrease: ${records[0].upper} -> ${records[19].upper}`);
  assert.ok(Number.isFinite(x[0].item()));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

// ES module consumer: named exports of the CommonJS package (found by Node's cjs-module-lexer,
// including those re-exported with `export *`) and the default export.
import assert from 'node:assert/strict';
import bilevel, { BilevelError, SolverConfigSchema, tensor, versions } from 'bilevel';

assert.equal(bilevel.tensor, tensor);
assert.equal(typeof SolverConfigSchema, 'object');
assert.equal(tensor([1, 2, 3]).sum().item(), 6);
assert.equal(typeof versions().libtorch, 'string');
assert.throws(() => tensor([1, 2], [3]), BilevelError);

// Second-order autograd from TypeScript: the Newton step of a strongly convex function,
// built from Hessian-vector products (the building block of implicit hypergradients).
import { Tensor, grad, tensor, tidy } from '../lib';

// f(y) = 0.5 * sum(a * y^2) + sum(exp(y)) - b^T y; Hessian = diag(a + exp(y)).
const a = tensor([2, 3, 5], undefined, { dtype: 'float64' });
const b = tensor([1, -1, 2], undefined, { dtype: 'float64' });
const f = (y: Tensor): Tensor => a.mul(y.pow(2)).sum().mul(0.5).add(y.exp().sum()).sub(b.mul(y).sum());

let y = tensor([0, 0, 0], undefined, { dtype: 'float64', requiresGrad: true });
for (let step = 0; step < 6; step++) {
  y = tidy(() => {
    const [g] = grad(f(y), [y], { createGraph: true });
    // Each Hessian column from one Hessian-vector product; the Hessian is diagonal here.
    const diag = [0, 1, 2].map((i) => {
      const e = tensor([0, 0, 0].map((_, j) => (i === j ? 1 : 0)), undefined, { dtype: 'float64' });
      return grad(g!.mul(e).sum(), [y], { retainGraph: true })[0]!.toArray()[i] as number;
    });
    const newton = tensor(diag, undefined, { dtype: 'float64' });
    const next = y.detach().sub(g!.detach().div(newton));
    console.log(`step ${step}: f = ${f(y).item().toFixed(12)}  |grad| = ${g!.pow(2).sum().sqrt().item().toExponential(3)}`);
    return next.requiresGrad_(true);
  });
}

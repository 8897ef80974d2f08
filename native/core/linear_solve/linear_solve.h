// Iterative solvers of A v = b where A is known only through its products A p (a matrix-free
// linear operator on lists of tensors: the implicit hypergradients' A is hess_yy f, applied by
// one backward pass). docs/algorithms.md §5.4 (conjugate gradients) and §5.5 (Neumann series).
#pragma once
#include <cstdint>
#include <functional>

#include "core/tensor_list.h"

namespace bilevel::core {

// p -> A p, with the same tensor count and shapes as p. A is assumed symmetric.
using MatVec = std::function<TensorList(const TensorList&)>;

struct LinearSolveResult {
  TensorList solution;
  int64_t iterations = 0;  // products A p whose result entered the solution
  // ||b - (A + damping I) v|| as the conjugate-gradient recurrence carries it; NaN for the Neumann
  // series, which computes no residual (it would cost one more product).
  double residualNorm = 0;
};

// Solves (A + damping I) v = b from v = 0; stops after `iterations` updates, once
// ||r|| <= tolerance * ||b||, or at a search direction p with p^T (A + damping I) p <= 0 (A is
// not positive definite there: the iterate so far is returned).
struct ConjugateGradientOptions {
  int64_t iterations = 20;
  double tolerance = 1e-10;
  double damping = 0;
};
LinearSolveResult conjugateGradient(const MatVec& matVec, const TensorList& b, const ConjugateGradientOptions& options);

// v = alpha sum_{i=0..terms} (I - alpha A)^i b: tends to A^{-1} b when the eigenvalues of A lie
// in (0, 2 / alpha).
struct NeumannOptions {
  double alpha = 0.1;
  int64_t terms = 20;
};
LinearSolveResult neumannSeries(const MatVec& matVec, const TensorList& b, const NeumannOptions& options);

}  // namespace bilevel::core

// Conjugate gradients on (A + damping I) v = b (docs/algorithms.md §5.4).
#include <cmath>
#include <string>

#include "core/error.h"
#include "core/linear_solve/operator_checks.h"

namespace bilevel::core {
namespace {

constexpr const char* kSolver = "conjugateGradient";

void checkOptions(const ConjugateGradientOptions& o) {
  const auto refuse = [](const std::string& why) { throw Error("INVALID_ARGUMENT", std::string(kSolver) + ": " + why); };
  if (o.iterations < 1) refuse("iterations must be >= 1, got " + std::to_string(o.iterations));
  if (!(o.tolerance >= 0)) refuse("tolerance must be >= 0, got " + c10::str(o.tolerance));
  if (!(o.damping >= 0)) refuse("damping must be >= 0, got " + c10::str(o.damping));
}

}  // namespace

LinearSolveResult conjugateGradient(const MatVec& matVec, const TensorList& b, const ConjugateGradientOptions& o) {
  checkOptions(o);
  linear_solve::requireRightHandSide(b, kSolver);
  LinearSolveResult result;
  TensorList& v = result.solution;
  v = zerosLike(b);
  TensorList r = b;
  TensorList p = b;
  double rr = dot(r, r).item<double>();
  const double stop = o.tolerance * std::sqrt(rr);
  for (; result.iterations < o.iterations && std::sqrt(rr) > stop; ++result.iterations) {
    const TensorList ap = axpy(linear_solve::checkedProduct(matVec, p, kSolver), p, o.damping);
    const double curvature = dot(p, ap).item<double>();
    if (!(curvature > 0)) break;  // not positive definite along p: keep the iterate so far
    const double step = rr / curvature;
    v = axpy(v, p, step);
    r = axpy(r, ap, -step);
    const double rrNext = dot(r, r).item<double>();
    p = axpy(r, p, rrNext / rr);
    rr = rrNext;
  }
  result.residualNorm = std::sqrt(rr);
  return result;
}

}  // namespace bilevel::core

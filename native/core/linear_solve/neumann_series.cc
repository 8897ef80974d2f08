// The truncated Neumann series for A^{-1} b (docs/algorithms.md §5.5).
#include <limits>
#include <string>

#include "core/error.h"
#include "core/linear_solve/operator_checks.h"

namespace bilevel::core {
namespace {

constexpr const char* kSolver = "neumannSeries";

void checkOptions(const NeumannOptions& o) {
  const auto refuse = [](const std::string& why) { throw Error("INVALID_ARGUMENT", std::string(kSolver) + ": " + why); };
  if (!(o.alpha > 0)) refuse("alpha must be > 0, got " + c10::str(o.alpha));
  if (o.terms < 0) refuse("terms must be >= 0, got " + std::to_string(o.terms));
}

}  // namespace

LinearSolveResult neumannSeries(const MatVec& matVec, const TensorList& b, const NeumannOptions& o) {
  checkOptions(o);
  linear_solve::requireRightHandSide(b, kSolver);
  TensorList term = b;  // (I - alpha A)^i b
  TensorList sum = b;
  for (int64_t i = 1; i <= o.terms; ++i) {
    term = axpy(term, linear_solve::checkedProduct(matVec, term, kSolver), -o.alpha);
    sum = axpy(sum, term, 1.0);
  }
  return {scaled(sum, o.alpha), o.terms, std::numeric_limits<double>::quiet_NaN()};
}

}  // namespace bilevel::core

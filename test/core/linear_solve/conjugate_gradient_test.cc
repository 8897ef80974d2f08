// Conjugate gradients (core/linear_solve) against direct solves of the same systems, and its
// three stops: iterations, tolerance, non-positive curvature (docs/algorithms.md §5.4).
#include <cmath>

#include "core/linear_solve/linear_solve.h"
#include "../support.h"
#include "systems.h"

namespace bilevel::core {
namespace {

using test::maxAbsDifference;
using test::times;

ConjugateGradientOptions cgOptions(int64_t iterations, double tolerance, double damping = 0) {
  ConjugateGradientOptions options;
  options.iterations = iterations;
  options.tolerance = tolerance;
  options.damping = damping;
  return options;
}

TensorList column(std::vector<double> values) { return {torch::tensor(values, torch::kFloat64)}; }

TEST(ConjugateGradientTest, SolvesARandomPositiveDefiniteSystem) {
  const torch::Tensor a = test::randomSymmetric(8, 8, 0.5, 1);
  const torch::Tensor b = torch::randn({8}, torch::kFloat64);
  const LinearSolveResult result = conjugateGradient(times(a), {b}, cgOptions(100, 1e-13));
  EXPECT_LT(maxAbsDifference(result.solution, torch::linalg::solve(a, b, true)), 1e-10);
  EXPECT_LE(result.residualNorm, 1e-13 * b.norm().item<double>());
  EXPECT_EQ(torch::autograd::GradMode::is_enabled(), true);  // the solver leaves the grad mode alone
}

// A = M M^T has rank 2 in dimension 6: singular, so only the damped system has one solution.
TEST(ConjugateGradientTest, DampingSolvesTheShiftedSystem) {
  const torch::Tensor a = test::randomSymmetric(6, 2, 0.0, 2);
  const torch::Tensor b = torch::randn({6}, torch::kFloat64);
  const double damping = 0.3;
  const LinearSolveResult result = conjugateGradient(times(a), {b}, cgOptions(100, 1e-13, damping));
  const torch::Tensor expected = torch::linalg::solve(a + damping * torch::eye(6, torch::kFloat64), b, true);
  EXPECT_LT(maxAbsDifference(result.solution, expected), 1e-10);
}

// With three distinct eigenvalues, conjugate gradients reach the solution in three iterations;
// the tolerance then stops them although 20 are allowed.
TEST(ConjugateGradientTest, StopsOnceTheResidualMeetsTheTolerance) {
  const torch::Tensor diagonal = torch::tensor({1.0, 1.0, 2.0, 2.0, 5.0, 5.0}, torch::kFloat64);
  const torch::Tensor b = torch::ones({6}, torch::kFloat64);
  const LinearSolveResult result = conjugateGradient(times(torch::diag(diagonal)), {b}, cgOptions(20, 1e-10));
  EXPECT_EQ(result.iterations, 3);
  EXPECT_LE(result.residualNorm, 1e-10 * std::sqrt(6.0));
  EXPECT_LT(maxAbsDifference(result.solution, b / diagonal), 1e-12);
}

// A tolerance between the relative residuals after one and after two iterations stops at two.
TEST(ConjugateGradientTest, TheToleranceIsRelativeToTheRightHandSide) {
  const torch::Tensor a = test::randomSymmetric(8, 8, 0.5, 3);
  const torch::Tensor b = 7.0 * torch::randn({8}, torch::kFloat64);
  const double bNorm = b.norm().item<double>();
  const double afterOne = conjugateGradient(times(a), {b}, cgOptions(1, 0)).residualNorm / bNorm;
  const LinearSolveResult capped = conjugateGradient(times(a), {b}, cgOptions(2, 0));
  ASSERT_EQ(capped.iterations, 2);
  const double afterTwo = capped.residualNorm / bNorm;
  ASSERT_LT(afterTwo, afterOne);
  const LinearSolveResult stopped = conjugateGradient(times(a), {b}, cgOptions(20, (afterOne + afterTwo) / 2));
  EXPECT_EQ(stopped.iterations, 2);
  EXPECT_TRUE(torch::equal(stopped.solution[0], capped.solution[0]));
}

// A = diag(4, 1, -2), b = (1, 1, 1): p_0 = b has curvature 3, so v_1 = b and r_1 = (-3, 0, 3);
// p_1 = r_1 + 6 p_0 = (3, 6, 9) has curvature 36 + 36 - 162 < 0: the solver keeps v_1.
TEST(ConjugateGradientTest, StopsAtNonPositiveCurvature) {
  const torch::Tensor a = torch::diag(torch::tensor({4.0, 1.0, -2.0}, torch::kFloat64));
  const LinearSolveResult result = conjugateGradient(times(a), column({1, 1, 1}), cgOptions(20, 0));
  EXPECT_EQ(result.iterations, 1);
  EXPECT_TRUE(torch::equal(result.solution[0], torch::ones({3}, torch::kFloat64)));
  EXPECT_DOUBLE_EQ(result.residualNorm, std::sqrt(18.0));
  // diag(1, -3): the first direction already has curvature -2; v stays 0.
  const LinearSolveResult none = conjugateGradient(times(torch::diag(torch::tensor({1.0, -3.0}, torch::kFloat64))), column({1, 1}), cgOptions(20, 0));
  EXPECT_EQ(none.iterations, 0);
  EXPECT_TRUE(torch::equal(none.solution[0], torch::zeros({2}, torch::kFloat64)));
}

TEST(ConjugateGradientTest, AZeroRightHandSideIsSolvedByZero) {
  const LinearSolveResult result = conjugateGradient(times(torch::eye(3, torch::kFloat64)), column({0, 0, 0}), cgOptions(20, 1e-10));
  EXPECT_EQ(result.iterations, 0);
  EXPECT_TRUE(torch::equal(result.solution[0], torch::zeros({3}, torch::kFloat64)));
}

// The unknown is a list of a 2 x 3 and a 4-vector; the matrix couples all ten scalars.
TEST(ConjugateGradientTest, SolvesOverAListOfTensors) {
  const torch::Tensor a = test::randomSymmetric(10, 10, 1.0, 4);
  const TensorList b = {torch::randn({2, 3}, torch::kFloat64), torch::randn({4}, torch::kFloat64)};
  const LinearSolveResult result = conjugateGradient(times(a), b, cgOptions(100, 1e-13));
  ASSERT_EQ(result.solution.size(), 2u);
  EXPECT_EQ(result.solution[0].sizes(), b[0].sizes());
  EXPECT_EQ(result.solution[1].sizes(), b[1].sizes());
  EXPECT_LT(maxAbsDifference(result.solution, torch::linalg::solve(a, test::flatten(b), true)), 1e-10);
}

TEST(ConjugateGradientTest, BadInputIsRefused) {
  const MatVec identity = [](const TensorList& p) { return p; };
  EXPECT_TRUE(test::refused([&] { conjugateGradient(identity, {}, cgOptions(20, 0)); }, "INVALID_ARGUMENT", "conjugateGradient: b must hold at least one tensor"));
  EXPECT_TRUE(test::refused([&] { conjugateGradient(identity, column({1}), cgOptions(0, 0)); }, "INVALID_ARGUMENT", "iterations must be >= 1, got 0"));
  EXPECT_TRUE(test::refused([&] { conjugateGradient(identity, column({1}), cgOptions(5, -1)); }, "INVALID_ARGUMENT", "tolerance must be >= 0, got -1"));
  EXPECT_TRUE(test::refused([&] { conjugateGradient(identity, column({1}), cgOptions(5, 0, NAN)); }, "INVALID_ARGUMENT", "damping must be >= 0, got nan"));
  const MatVec wrongShape = [](const TensorList& p) { return TensorList{p[0].reshape({1, -1})}; };
  EXPECT_TRUE(test::refused([&] { conjugateGradient(wrongShape, column({1, 2}), cgOptions(5, 0)); }, "SHAPE_MISMATCH",
                            "tensor 0 of the product A p has shape [1, 2], p's has [2]"));
  const MatVec tooMany = [](const TensorList& p) { return TensorList{p[0], p[0]}; };
  EXPECT_TRUE(test::refused([&] { conjugateGradient(tooMany, column({1, 2}), cgOptions(5, 0)); }, "SHAPE_MISMATCH",
                            "the product A p has 2 tensors, p has 1"));
}

}  // namespace
}  // namespace bilevel::core

// The Neumann series (core/linear_solve) against the closed form of its partial sum
// (docs/algorithms.md §5.5): alpha sum_{i=0..M} (I - alpha A)^i = A^{-1} (I - (I - alpha A)^{M+1}),
// by telescoping alpha A sum_i (I - alpha A)^i.
#include <cmath>

#include "core/linear_solve/linear_solve.h"
#include "../support.h"
#include "systems.h"

namespace bilevel::core {
namespace {

using test::maxAbsDifference;
using test::times;

NeumannOptions neumannOptions(double alpha, int64_t terms) {
  NeumannOptions options;
  options.alpha = alpha;
  options.terms = terms;
  return options;
}

torch::Tensor closedForm(const torch::Tensor& a, const torch::Tensor& b, double alpha, int64_t terms) {
  const torch::Tensor contraction = torch::eye(a.size(0), torch::kFloat64) - alpha * a;
  return torch::linalg::solve(a, b - torch::linalg::matrix_power(contraction, terms + 1).mv(b), true);
}

TEST(NeumannSeriesTest, EqualsTheClosedFormOfItsPartialSum) {
  const torch::Tensor a = test::randomSymmetric(7, 7, 0.5, 5);
  const torch::Tensor b = torch::randn({7}, torch::kFloat64);
  for (const int64_t terms : {1, 4, 12}) {
    const LinearSolveResult result = neumannSeries(times(a), {b}, neumannOptions(0.05, terms));
    EXPECT_EQ(result.iterations, terms);
    EXPECT_TRUE(std::isnan(result.residualNorm));
    EXPECT_LT(maxAbsDifference(result.solution, closedForm(a, b, 0.05, terms)), 1e-10) << "terms " << terms;
  }
}

// With the eigenvalues of A in (0, 2 / alpha), the series tends to A^{-1} b.
TEST(NeumannSeriesTest, ConvergesToTheSolution) {
  const torch::Tensor a = test::randomSymmetric(5, 5, 1.0, 6);
  const double alpha = 1.0 / torch::linalg::eigvalsh(a, "L").max().item<double>();
  const torch::Tensor b = torch::randn({5}, torch::kFloat64);
  const LinearSolveResult result = neumannSeries(times(a), {b}, neumannOptions(alpha, 2000));
  EXPECT_LT(maxAbsDifference(result.solution, torch::linalg::solve(a, b, true)), 1e-9);
}

TEST(NeumannSeriesTest, NoTermsIsAlphaTimesB) {
  const MatVec never = [](const TensorList&) -> TensorList { throw std::logic_error("no product expected"); };
  const TensorList b = {torch::tensor({2.0, -4.0}, torch::kFloat64)};
  const LinearSolveResult result = neumannSeries(never, b, neumannOptions(0.25, 0));
  EXPECT_TRUE(torch::equal(result.solution[0], torch::tensor({0.5, -1.0}, torch::kFloat64)));
}

TEST(NeumannSeriesTest, SumsOverAListOfTensors) {
  const torch::Tensor a = test::randomSymmetric(10, 10, 1.0, 7);
  const TensorList b = {torch::randn({2, 3}, torch::kFloat64), torch::randn({4}, torch::kFloat64)};
  const LinearSolveResult result = neumannSeries(times(a), b, neumannOptions(0.02, 9));
  ASSERT_EQ(result.solution.size(), 2u);
  EXPECT_EQ(result.solution[0].sizes(), b[0].sizes());
  EXPECT_LT(maxAbsDifference(result.solution, closedForm(a, test::flatten(b), 0.02, 9)), 1e-10);
}

TEST(NeumannSeriesTest, BadInputIsRefused) {
  const MatVec identity = [](const TensorList& p) { return p; };
  const TensorList b = {torch::ones({2}, torch::kFloat64)};
  EXPECT_TRUE(test::refused([&] { neumannSeries(identity, {}, neumannOptions(0.1, 3)); }, "INVALID_ARGUMENT", "neumannSeries: b must hold at least one tensor"));
  EXPECT_TRUE(test::refused([&] { neumannSeries(identity, b, neumannOptions(0, 3)); }, "INVALID_ARGUMENT", "alpha must be > 0, got 0"));
  EXPECT_TRUE(test::refused([&] { neumannSeries(identity, b, neumannOptions(0.1, -1)); }, "INVALID_ARGUMENT", "terms must be >= 0, got -1"));
  const MatVec wrongShape = [](const TensorList& p) { return TensorList{p[0].reshape({2, 1})}; };
  EXPECT_TRUE(test::refused([&] { neumannSeries(wrongShape, b, neumannOptions(0.1, 3)); }, "SHAPE_MISMATCH", "neumannSeries: tensor 0 of the product A p"));
}

}  // namespace
}  // namespace bilevel::core

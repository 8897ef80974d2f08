// Box sets: the projection (clamping per element, one-sided, never promoting the variable's
// dtype) and the shape check that refuses a bound which would change its variable's shape.
#include "core/problem.h"
#include "support.h"

namespace bilevel::core {
namespace {

using test::refused;

torch::Tensor doubles(std::vector<double> values) { return torch::tensor(values, torch::kFloat64); }

TEST(BoxTest, ScalarBoundsClampEveryElement) {
  const Box box{torch::scalar_tensor(-1.0, torch::kFloat64), torch::scalar_tensor(1.0, torch::kFloat64)};
  EXPECT_TRUE(torch::equal(box.project(doubles({-2, 0.5, 3})), doubles({-1, 0.5, 1})));
}

TEST(BoxTest, PerElementBoundsClampEachElement) {
  const Box box{doubles({0, -5, 2}), doubles({1, 5, 4})};
  EXPECT_TRUE(torch::equal(box.project(doubles({-1, 7, 3})), doubles({0, 5, 3})));
}

TEST(BoxTest, OneSidedBoundLeavesTheOtherSideFree) {
  const Box lowerOnly{torch::scalar_tensor(0.0, torch::kFloat64), {}};
  EXPECT_TRUE(torch::equal(lowerOnly.project(doubles({-1, 100})), doubles({0, 100})));
  const Box upperOnly{{}, torch::scalar_tensor(0.0, torch::kFloat64)};
  EXPECT_TRUE(torch::equal(upperOnly.project(doubles({-100, 1})), doubles({-100, 0})));
}

TEST(BoxTest, UnboundedBoxReturnsTheValue) {
  const torch::Tensor v = doubles({-1e300, 1e300});
  EXPECT_TRUE(Box{}.project(v).is_same(v));
}

TEST(BoxTest, Float64BoundsKeepAFloat32Variable) {
  const Box box{torch::scalar_tensor(0.25, torch::kFloat64), torch::scalar_tensor(0.75, torch::kFloat64)};
  const torch::Tensor projected = box.project(torch::tensor({0.0f, 0.5f, 1.0f}));
  EXPECT_EQ(projected.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(projected, torch::tensor({0.25f, 0.5f, 0.75f})));
}

TEST(BoxTest, ListProjectionLeavesVariablesWithoutASetFree) {
  const std::vector<Box> sets = {Box{torch::scalar_tensor(0.0, torch::kFloat64), {}}};
  const TensorList projected = project({doubles({-1}), doubles({-1})}, sets);
  EXPECT_TRUE(torch::equal(projected[0], doubles({0})));
  EXPECT_TRUE(torch::equal(projected[1], doubles({-1})));
}

TEST(BoxShapeTest, BoundsThatBroadcastIntoTheVariableAreAccepted) {
  const TensorList values = {torch::zeros({2, 3}, torch::kFloat64)};
  for (const auto& bound : {torch::scalar_tensor(1.0, torch::kFloat64), torch::ones({3}, torch::kFloat64),
                            torch::ones({2, 1}, torch::kFloat64), torch::ones({1, 3}, torch::kFloat64),
                            torch::ones({2, 3}, torch::kFloat64)}) {
    EXPECT_NO_THROW(checkBoxes(values, {Box{-bound, bound}}, "x sets")) << bound.sizes();
  }
}

TEST(BoxShapeTest, BoundOfAnotherLengthIsRefusedNamingIt) {
  const TensorList values = {torch::zeros({1}, torch::kFloat64), torch::zeros({3}, torch::kFloat64)};
  const std::vector<Box> sets = {Box{}, Box{{}, torch::ones({2}, torch::kFloat64)}};
  EXPECT_TRUE(refused([&] { checkBoxes(values, sets, "x sets"); }, "SHAPE_MISMATCH",
                      "x sets[1].max has shape [2], which does not broadcast to the variable's shape [3]"));
}

// [1, 3] broadcasts with [3] but would make the projected variable [1, 3].
TEST(BoxShapeTest, BoundOfHigherRankIsRefused) {
  const TensorList values = {torch::zeros({3}, torch::kFloat64)};
  const std::vector<Box> sets = {Box{torch::zeros({1, 3}, torch::kFloat64), {}}};
  EXPECT_TRUE(refused([&] { checkBoxes(values, sets, "y sets"); }, "SHAPE_MISMATCH", "y sets[0].min has shape [1,3]"));
}

TEST(BoxShapeTest, ProblemRefusesAMisshapenSet) {
  struct Quadratic : Problem {
    using Problem::Problem;
    torch::Tensor evaluateUpper(const TensorList& x, const TensorList&, const Batch&) override { return x[0].sum(); }
    torch::Tensor evaluateLower(const TensorList&, const TensorList& y, const Batch&) override { return y[0].sum(); }
  };
  Variables upper{{torch::zeros({2}, torch::kFloat64)}, {Box{torch::zeros({3}, torch::kFloat64), {}}}};
  Variables lower{{torch::zeros({2}, torch::kFloat64)}, {}};
  EXPECT_TRUE(refused([&] { Quadratic(upper, lower); }, "SHAPE_MISMATCH", "upper variables sets[0].min has shape [3]"));
}

}  // namespace
}  // namespace bilevel::core

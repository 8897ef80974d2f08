// Dynamics::firstDistinctStep and the choice of PTT (docs/algorithms.md §4.3-4.4) through the
// public hypergradients: Kbar = argmax over the eligible iterates of F(x, y_k), and never an
// iterate identical to y_0, whose x-hypergradient would be exactly zero.
//
// The problem, in R: f(x, y) = (y - x)^2 / 2 and F(x, y) = sign (y - 1)^2 / 2, from x = 1, y_0 = 3.
// gd with lr 1/2 halves y - x each step: y_k = x + (3 - x) / 2^k, so y_1, y_2, y_3 = 2, 1.5, 1.25
// and dy_k/dx = 1 - 2^-k. Accelerated dynamics with L_f = 1 (beta = 1/2, lambda_k = k/4,
// alpha_k = 2/(k+1)): y_1 = v_0 = 3 whatever x is; u_1 = (3 + x)/2, v_1 = (9 + x)/4, so
// y_2 = u_1/3 + 2 v_1/3 = 2 + x/3 = 7/3; u_2 = 1 + 2x/3, v_2 = 5/4 + 7x/12, y_3 = 9/8 + 5x/8 = 1.75.
#include "core/hypergradient.h"
#include "support.h"

namespace bilevel::core {
namespace {

class TrackingProblem : public Problem {
 public:
  explicit TrackingProblem(double sign)
      : Problem(Variables{{torch::ones({1}, torch::kFloat64)}, {}}, Variables{{torch::full({1}, 3.0, torch::kFloat64)}, {}}),
        sign_(sign) {}

 protected:
  torch::Tensor evaluateUpper(const TensorList&, const TensorList& y, const Batch&) override { return sign_ * 0.5 * (y[0] - 1).pow(2).sum(); }
  torch::Tensor evaluateLower(const TensorList& x, const TensorList& y, const Batch&) override { return 0.5 * (y[0] - x[0]).pow(2).sum(); }

 private:
  double sign_;
};

DynamicsOptions gd(int64_t steps) {
  DynamicsOptions options;
  options.steps = steps;
  options.lr = 0.5;
  return options;
}

DynamicsOptions accelerated(int64_t steps) {
  DynamicsOptions options;
  options.kind = DynamicsOptions::Kind::Accelerated;
  options.steps = steps;
  options.lipschitz = 1.0;
  return options;
}

struct Variant {
  HypergradientOptions::Kind method;
  Truncation truncation;
  const char* name;
};
const Variant kPessimisticVariants[] = {
    {HypergradientOptions::Kind::Reverse, Truncation::Pessimistic, "reverse, PTT"},
    {HypergradientOptions::Kind::Reverse, Truncation::PessimisticRecompute, "reverse, PTT recompute"},
    {HypergradientOptions::Kind::Forward, Truncation::Pessimistic, "forward, PTT"},
};

HypergradientOutput hypergradient(const Variant& variant, const DynamicsOptions& dynamicsOptions, double sign) {
  TrackingProblem problem(sign);
  const Dynamics dynamics(dynamicsOptions);
  HypergradientOptions options;
  options.kind = variant.method;
  checkCombination(options, dynamicsOptions, false, variant.truncation);
  const IterationBatches fullData;
  const HypergradientInput input{problem, dynamics, leaves(problem.upperVariables().initial), problem.lowerVariables().initial,
                                 false, variant.truncation, fullData};
  return makeHypergradient(options)->compute(input);
}

TEST(FirstDistinctStepTest, OnlyAcceleratedDynamicsSkipTheFirstStep) {
  for (const auto kind : {DynamicsOptions::Kind::Gd, DynamicsOptions::Kind::Bda, DynamicsOptions::Kind::Nesterov}) {
    DynamicsOptions options;
    options.kind = kind;
    options.steps = 3;
    EXPECT_EQ(Dynamics(options).firstDistinctStep(), 1);
  }
  EXPECT_EQ(Dynamics(accelerated(3)).firstDistinctStep(), 2);
  EXPECT_EQ(Dynamics(accelerated(1)).firstDistinctStep(), 1);  // at most K
}

// Why: the first accelerated step returns y_0 itself, (y, u, v) = (3, 2, 2.5) here.
TEST(FirstDistinctStepTest, FirstAcceleratedIterateIsTheStart) {
  TrackingProblem problem(1.0);
  const Dynamics dynamics(accelerated(3));
  const State first = dynamics.step(problem, problem.upperVariables().initial, dynamics.initialState(problem.lowerVariables().initial), 0, false,
                                    IterationBatches{});
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[0].item<double>(), 3.0);
  EXPECT_EQ(first[1].item<double>(), 2.0);
  EXPECT_EQ(first[2].item<double>(), 2.5);
}

// F falls along the gd trajectory: Kbar = 1 (y_0, larger still, is not eligible);
// dF(y_1)/dx = (y_1 - 1) dy_1/dx = 1 * 1/2.
TEST(PessimisticChoiceTest, GdChoosesTheFirstStepWhenFFalls) {
  for (const Variant& variant : kPessimisticVariants) {
    const HypergradientOutput out = hypergradient(variant, gd(3), 1.0);
    EXPECT_EQ(out.kbar, 1) << variant.name;
    EXPECT_NEAR(out.x[0].item<double>(), 0.5, 1e-12) << variant.name;
    EXPECT_NEAR(out.upperAtLast, 0.5 * 0.25 * 0.25, 1e-12) << variant.name;  // F(y_3)
  }
}

// F = -(y - 1)^2 / 2 rises along the trajectory: Kbar = K = 3;
// dF(y_3)/dx = -(y_3 - 1) dy_3/dx = -0.25 * 0.875.
TEST(PessimisticChoiceTest, GdChoosesTheLastStepWhenFRises) {
  for (const Variant& variant : kPessimisticVariants) {
    const HypergradientOutput out = hypergradient(variant, gd(3), -1.0);
    EXPECT_EQ(out.kbar, 3) << variant.name;
    EXPECT_NEAR(out.x[0].item<double>(), -0.21875, 1e-12) << variant.name;
  }
}

// F is largest at y_0 = y_1 (2, then 8/9 at y_2, 0.28125 at y_3): Kbar = 2, not 1, and
// dF(y_2)/dx = (y_2 - 1) dy_2/dx = 4/3 * 1/3, where y_1 would give exactly 0.
TEST(PessimisticChoiceTest, AcceleratedNeverChoosesTheStart) {
  for (const Variant& variant : kPessimisticVariants) {
    const HypergradientOutput out = hypergradient(variant, accelerated(3), 1.0);
    EXPECT_EQ(out.kbar, 2) << variant.name;
    EXPECT_NEAR(out.x[0].item<double>(), 4.0 / 9.0, 1e-12) << variant.name;
    EXPECT_NEAR(out.upperAtLast, 0.5 * 0.75 * 0.75, 1e-12) << variant.name;
  }
}

TEST(PessimisticChoiceTest, WithoutTruncationTheLastIterateDefinesTheSurrogate) {
  const HypergradientOutput out =
      hypergradient({HypergradientOptions::Kind::Reverse, Truncation::None, "reverse"}, accelerated(3), 1.0);
  EXPECT_EQ(out.kbar, 3);
  EXPECT_NEAR(out.x[0].item<double>(), 0.75 * 0.625, 1e-12);  // (y_3 - 1) dy_3/dx
}

}  // namespace
}  // namespace bilevel::core

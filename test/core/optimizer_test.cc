// The UL optimizers' update formulas (docs/algorithms.md) against values worked by hand, their
// projection, the commit that makes a step's state count, and their state through a checkpoint.
#include <cmath>

#include "core/optimizer.h"
#include "support.h"

namespace bilevel::core {
namespace {

using Kind = OptimizerOptions::Kind;

OptimizerOptions optimizer(Kind kind, double lr) {
  OptimizerOptions options;
  options.kind = kind;
  options.lr = lr;
  return options;
}

TensorList scalar(double value) { return {torch::full({1}, value, torch::kFloat64)}; }

// Steps from x with each gradient in turn, committing each step; returns the last x.
double descend(Optimizer& optimizer, double x, const std::vector<double>& gradients) {
  TensorList values = scalar(x);
  for (const double g : gradients) {
    values = optimizer.step(values, scalar(g), {});
    optimizer.commit();
  }
  return values[0].item<double>();
}

TEST(OptimizerTest, SgdStepsAgainstTheGradient) {
  Optimizer sgd(optimizer(Kind::Sgd, 0.1));
  const TensorList next = sgd.step({torch::tensor({1.0, -2.0}, torch::kFloat64)}, {torch::tensor({0.5, 1.0}, torch::kFloat64)}, {});
  EXPECT_NEAR(next[0][0].item<double>(), 0.95, 1e-15);
  EXPECT_NEAR(next[0][1].item<double>(), -2.1, 1e-15);
}

// buffer_1 = g_1 = 1, x_1 = 1 - 0.1; buffer_2 = 0.9 * 1 + 1 = 1.9, x_2 = 0.9 - 0.19.
TEST(OptimizerTest, MomentumAccumulatesTheBuffer) {
  Optimizer momentum(optimizer(Kind::Momentum, 0.1));
  EXPECT_NEAR(descend(momentum, 1.0, {1.0, 1.0}), 0.71, 1e-15);
}

// t = 1, g = 2: m = 0.2, v = 0.004, bias-corrected 2 and 4: x_1 = 1 - 0.1 * 2 / (2 + eps).
// t = 2, g = -1: m = 0.18 - 0.1 = 0.08, v = 0.003996 + 0.001 = 0.004996, corrected by
// 1 - 0.9^2 = 0.19 and 1 - 0.999^2 = 0.001999: x_2 = x_1 - 0.1 (8/19) / (sqrt(4996/1999) + eps).
TEST(OptimizerTest, AdamCorrectsItsMomentsForBias) {
  Optimizer adam(optimizer(Kind::Adam, 0.1));
  const double eps = 1e-8;
  const double first = 1 - 0.1 * 2 / (2 + eps);
  EXPECT_NEAR(descend(adam, 1.0, {2.0, -1.0}), first - 0.1 * (8.0 / 19.0) / (std::sqrt(4996.0 / 1999.0) + eps), 1e-14);
}

// torch.optim.Adam's weight_decay: g + wd x enters both moments, written out step by step.
TEST(OptimizerTest, AdamAddsWeightDecayToTheGradient) {
  OptimizerOptions options = optimizer(Kind::Adam, 0.1);
  options.weightDecay = 0.5;
  Optimizer adam(options);
  const double eps = 1e-8;
  double x = 1.0, m = 0.0, v = 0.0;
  int t = 0;
  for (const double g : {2.0, -1.0}) {
    const double d = g + 0.5 * x;
    ++t;
    m = 0.9 * m + 0.1 * d;
    v = 0.999 * v + 0.001 * d * d;
    x -= 0.1 * (m / (1 - std::pow(0.9, t))) / (std::sqrt(v / (1 - std::pow(0.999, t))) + eps);
  }
  EXPECT_NEAR(descend(adam, 1.0, {2.0, -1.0}), x, 1e-14);
  Optimizer plain(optimizer(Kind::Adam, 0.1));
  EXPECT_GT(std::abs(descend(plain, 1.0, {2.0, -1.0}) - x), 1e-3);
}

TEST(OptimizerTest, StepIsProjectedOntoTheBox) {
  Optimizer sgd(optimizer(Kind::Sgd, 1.0));
  const std::vector<Box> sets = {Box{torch::scalar_tensor(0.0, torch::kFloat64), torch::scalar_tensor(1.0, torch::kFloat64)}};
  EXPECT_EQ(sgd.step(scalar(0.5), scalar(2.0), sets)[0].item<double>(), 0.0);
  EXPECT_EQ(sgd.step(scalar(0.5), scalar(-2.0), sets)[0].item<double>(), 1.0);
}

// A step the solver refuses is never committed: the next step starts from the same state.
TEST(OptimizerTest, UncommittedStepLeavesTheStateAsItWas) {
  Optimizer momentum(optimizer(Kind::Momentum, 0.1));
  const double once = momentum.step(scalar(1.0), scalar(1.0), {})[0].item<double>();
  const double again = momentum.step(scalar(1.0), scalar(1.0), {})[0].item<double>();
  EXPECT_EQ(once, again);
  momentum.commit();
  EXPECT_NEAR(momentum.step(scalar(1.0), scalar(1.0), {})[0].item<double>(), 1.0 - 0.1 * 1.9, 1e-15);
}

TEST(OptimizerTest, StateSurvivesSaveAndLoad) {
  Optimizer original(optimizer(Kind::Adam, 0.1));
  descend(original, 1.0, {2.0, -1.0});
  StateWriter writer;
  original.save(writer, "upper");
  StateReader reader(writer.records(), "memory");
  Optimizer restored(optimizer(Kind::Adam, 0.1));
  restored.load(reader, "upper", scalar(0.0))();
  reader.requireAllRead();
  EXPECT_EQ(descend(restored, 0.5, {3.0}), descend(original, 0.5, {3.0}));
}

TEST(OptimizerTest, LoadIntoAnotherKindIsRefused) {
  Optimizer adam(optimizer(Kind::Adam, 0.1));
  StateWriter writer;
  adam.save(writer, "upper");
  StateReader reader(writer.records(), "memory");
  Optimizer sgd(optimizer(Kind::Sgd, 0.1));
  EXPECT_TRUE(test::refused([&] { sgd.load(reader, "upper", scalar(0.0)); }, "INVALID_ARGUMENT", "'upper' is adam in the checkpoint, sgd in this solver"));
}

TEST(OptimizerTest, OptionsOutsideTheirRangesAreRefused) {
  OptimizerOptions options = optimizer(Kind::Sgd, 0.0);
  EXPECT_TRUE(test::refused([&] { Optimizer{options}; }, "INVALID_ARGUMENT", "lr must be > 0"));
  options = optimizer(Kind::Momentum, 0.1);
  options.momentum = 1.0;
  EXPECT_TRUE(test::refused([&] { Optimizer{options}; }, "INVALID_ARGUMENT", "momentum must be in [0, 1)"));
  options = optimizer(Kind::Adam, 0.1);
  options.eps = 0.0;
  EXPECT_TRUE(test::refused([&] { Optimizer{options}; }, "INVALID_ARGUMENT", "eps must be > 0"));
}

}  // namespace
}  // namespace bilevel::core

// Running statistics of the functional batch norms against torch::nn::BatchNorm2d's, the
// evaluation forward of the DARTS network by them (an image's output no longer depends on its
// batch), and the refusals.
#include "core/models/batch_norm_statistics.h"

#include <ATen/CPUGeneratorImpl.h>

#include "../support.h"
#include "core/models/darts/evaluation_network.h"
#include "core/models/layers.h"

namespace bilevel::core::models {
namespace {

using test::refused;

::testing::AssertionResult close(const torch::Tensor& actual, const torch::Tensor& expected, double tolerance = 1e-12) {
  const double error = (actual - expected).abs().max().item<double>();
  if (error > tolerance) return ::testing::AssertionFailure() << "max error " << error;
  return ::testing::AssertionSuccess();
}

// Two batch norms in a row (3 then 3 channels), as a model's forward calls them.
torch::Tensor twoNorms(const torch::Tensor& x, const TensorList& p) {
  return batchNorm(torch::relu(batchNorm(x, p[0], p[1])) * 2.0, p[2], p[3]);
}

TEST(BatchNormStatistics, TrackAndRunningAreTorchBatchNorm2d) {
  at::Generator gen = at::detail::createCPUGenerator(4);
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  const TensorList p{torch::randn({3}, gen, f64), torch::randn({3}, gen, f64), torch::randn({3}, gen, f64), torch::randn({3}, gen, f64)};
  torch::nn::BatchNorm2d first(3), second(3);
  first->to(torch::kFloat64);
  second->to(torch::kFloat64);
  {
    torch::NoGradGuard noGrad;
    first->weight.copy_(p[0]);
    first->bias.copy_(p[1]);
    second->weight.copy_(p[2]);
    second->bias.copy_(p[3]);
  }
  const auto reference = [&](const torch::Tensor& x) { return second(torch::relu(first(x)) * 2.0); };
  BatchNormStatistics statistics;
  for (int step = 0; step < 3; ++step) {
    const torch::Tensor x = torch::randn({5, 3, 4, 4}, gen, f64) * (step + 1.0) + step;
    BatchNormScope scope(statistics, BatchNormMode::Track);
    EXPECT_TRUE(close(twoNorms(x, p), reference(x)));
    EXPECT_EQ(scope.calls(), 2);
  }
  ASSERT_EQ(statistics.means.size(), 2u);
  EXPECT_TRUE(close(statistics.means[1], second->running_mean));
  EXPECT_TRUE(close(statistics.variances[0], first->running_var));
  first->eval();
  second->eval();
  const torch::Tensor x = torch::randn({2, 3, 4, 4}, gen, f64);
  BatchNormScope scope(statistics, BatchNormMode::Running);
  EXPECT_TRUE(close(twoNorms(x, p), reference(x)));
}

TEST(BatchNormStatistics, TrackedForwardsStayDifferentiable) {
  at::Generator gen = at::detail::createCPUGenerator(5);
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  TensorList p{torch::randn({3}, gen, f64).requires_grad_(), torch::randn({3}, gen, f64).requires_grad_(),
               torch::randn({3}, gen, f64).requires_grad_(), torch::randn({3}, gen, f64).requires_grad_()};
  const torch::Tensor x = torch::randn({5, 3, 4, 4}, gen, f64);
  BatchNormStatistics statistics;
  torch::Tensor tracked, plain;
  {
    BatchNormScope scope(statistics, BatchNormMode::Track);
    tracked = torch::autograd::grad({twoNorms(x, p).pow(3).sum()}, p)[0];
  }
  plain = torch::autograd::grad({twoNorms(x, p).pow(3).sum()}, p)[0];
  EXPECT_TRUE(close(tracked, plain));
}

TEST(BatchNormStatistics, EvaluationOutputsDoNotDependOnTheBatch) {
  using darts::Operation;
  const darts::Genotype genotype{{{{Operation::SepConv3x3, 0}, {Operation::SkipConnect, 1}}, {2}},
                                 {{{Operation::MaxPool3x3, 0}, {Operation::DilConv3x3, 1}}, {2}}};
  const auto network = darts::evaluationNetwork(genotype, {1, 8, 3, 2, 3, 3, false});
  at::Generator gen = at::detail::createCPUGenerator(6);
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  const TensorList params = network->initialize(gen, f64);
  BatchNormStatistics statistics;
  {
    BatchNormScope scope(statistics, BatchNormMode::Track);
    network->forward(params, torch::randn({6, 1, 8, 8}, gen, f64));
  }
  const torch::Tensor batch = torch::randn({4, 1, 8, 8}, gen, f64);
  // By the batch's statistics, an image's output depends on the others in its batch.
  EXPECT_FALSE(close(network->forward(params, batch.slice(0, 1, 2)), network->forward(params, batch).slice(0, 1, 2), 1e-6));
  const auto evaluated = [&](const torch::Tensor& images) {
    BatchNormScope scope(statistics, BatchNormMode::Running);
    const torch::Tensor logits = network->forward(params, images);
    EXPECT_EQ(static_cast<size_t>(scope.calls()), statistics.means.size());
    return logits;
  };
  EXPECT_TRUE(close(evaluated(batch.slice(0, 1, 2)), evaluated(batch).slice(0, 1, 2)));
}

TEST(BatchNormStatistics, Refusals) {
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  const torch::Tensor x = torch::ones({2, 3, 2, 2}, f64);
  BatchNormStatistics none;
  {
    BatchNormScope scope(none, BatchNormMode::Running);
    EXPECT_TRUE(refused([&] { batchNorm(x, {}, {}); }, "SHAPE_MISMATCH", "batch norm 0 of the forward (3 channels) has no running statistics"));
    EXPECT_TRUE(refused([&] { BatchNormScope nested(none, BatchNormMode::Track); }, "INVALID_ARGUMENT", "a scope is already active"));
  }
  BatchNormStatistics one;
  {
    BatchNormScope scope(one, BatchNormMode::Track);
    batchNorm(x, {}, {});
  }
  {
    // Two forwards in one scope, or another model's: more batch norms than were tracked.
    BatchNormScope scope(one, BatchNormMode::Track);
    batchNorm(x, {}, {});
    EXPECT_TRUE(refused([&] { batchNorm(x, {}, {}); }, "SHAPE_MISMATCH", "batch norm 1 of the forward (3 channels) has no running statistics"));
  }
  // Outside any scope: the batch's own statistics, nothing kept.
  EXPECT_TRUE(close(batchNorm(x * 2.0, {}, {}), torch::zeros_like(x)));
  EXPECT_TRUE(none.means.empty());
}

}  // namespace
}  // namespace bilevel::core::models

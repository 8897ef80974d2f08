// linear and mlp: their layouts, their starting values (the MLP's drawn exactly as data
// hyper-cleaning has drawn it), their forward against torch::nn modules with the same parameters,
// gradients in every parameter, and the parameters and inputs they refuse.
#include "core/models/dense.h"

#include <ATen/CPUGeneratorImpl.h>

#include "../support.h"

namespace bilevel::core::models {
namespace {

namespace nn = torch::nn;
using test::refused;

const auto kDoubles = torch::TensorOptions().dtype(torch::kFloat64);

// Data hyper-cleaning's MLP start before models existed (native/core/hyper_cleaning.cc): per
// layer, W then b, each U(-1/sqrt(in), 1/sqrt(in)) drawn in float64 from the task's generator.
TensorList hyperCleaningLayer(int64_t in, int64_t out, at::Generator& gen, const torch::TensorOptions& options) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  return {torch::rand({out, in}, gen, torch::kFloat64).mul(2 * bound).sub(bound).to(options),
          torch::rand({out}, gen, torch::kFloat64).mul(2 * bound).sub(bound).to(options)};
}

// The layers drawn first to last. (hyper_cleaning.cc draws them as the two arguments of one call,
// whose order C++ leaves open: GCC draws the last layer first, Clang the first.)
TEST(DenseTest, MlpStartsBitForBitAsHyperCleaningDrawsIt) {
  for (const auto dtype : {torch::kFloat32, torch::kFloat64}) {
    const auto options = torch::TensorOptions().dtype(dtype);
    at::Generator legacy = at::detail::createCPUGenerator(11);
    torch::randperm(100, legacy, torch::kInt64);  // the task draws its split first
    const TensorList hidden = hyperCleaningLayer(784, 30, legacy, options);
    const TensorList expected = concat(hidden, hyperCleaningLayer(30, 10, legacy, options));
    at::Generator gen = at::detail::createCPUGenerator(11);
    torch::randperm(100, gen, torch::kInt64);
    const TensorList actual = mlp({784, 30, 10}, Activation::relu(), Init::LinearDefault)->initialize(gen, options);
    ASSERT_EQ(actual.size(), expected.size());
    for (size_t i = 0; i < actual.size(); ++i) {
      EXPECT_EQ(actual[i].scalar_type(), dtype);
      EXPECT_TRUE(torch::equal(actual[i], expected[i])) << "parameter " << i;
    }
    // Both generators are left at the same point: what the task draws next is unchanged.
    EXPECT_TRUE(torch::equal(torch::rand({3}, gen), torch::rand({3}, legacy)));
  }
}

TEST(DenseTest, LinearLayoutAndZeroStart) {
  const auto model = linear(784, 10, Init::Zeros);
  ASSERT_EQ(model->layout().size(), 2u);
  EXPECT_EQ(model->layout()[0].name, "weight");
  EXPECT_EQ(model->layout()[0].shape, (std::vector<int64_t>{10, 784}));
  EXPECT_EQ(model->layout()[1].name, "bias");
  EXPECT_EQ(model->inputShape(), (std::vector<int64_t>{784}));
  at::Generator gen = at::detail::createCPUGenerator(0);
  const TensorList params = model->initialize(gen, kDoubles);
  EXPECT_TRUE(torch::equal(params[0], torch::zeros({10, 784}, kDoubles)));
  EXPECT_TRUE(torch::equal(params[1], torch::zeros({10}, kDoubles)));
  // Zeros draw nothing.
  at::Generator fresh = at::detail::createCPUGenerator(0);
  EXPECT_TRUE(torch::equal(torch::rand({3}, gen), torch::rand({3}, fresh)));
}

TEST(DenseTest, LinearDefaultStaysWithinTheFanInBound) {
  at::Generator gen = at::detail::createCPUGenerator(5);
  const TensorList params = mlp({400, 16, 3}, Activation::tanh(), Init::LinearDefault)->initialize(gen, kDoubles);
  const std::vector<double> bounds{1 / 20.0, 1 / 20.0, 0.25, 0.25};
  for (size_t i = 0; i < params.size(); ++i) EXPECT_LE(params[i].abs().max().item<double>(), bounds[i]) << i;
  // 6400 and 48 draws of the weights: their largest reach the bound.
  EXPECT_GT(params[0].abs().max().item<double>(), 0.99 * bounds[0]);
  EXPECT_GT(params[2].abs().max().item<double>(), 0.9 * bounds[2]);
  const TensorList ones = linear(3, 2, Init::Ones)->initialize(gen, kDoubles);
  EXPECT_TRUE(torch::equal(ones[0], torch::ones({2, 3}, kDoubles)));
}

TEST(DenseTest, LinearIsTorchLinear) {
  at::Generator gen = at::detail::createCPUGenerator(1);
  const auto model = linear(6, 4, Init::LinearDefault);
  const TensorList params = model->initialize(gen, kDoubles);
  nn::Linear module(6, 4);
  module->to(torch::kFloat64);
  {
    torch::NoGradGuard noGrad;
    module->weight.copy_(params[0]);
    module->bias.copy_(params[1]);
  }
  const torch::Tensor x = torch::randn({5, 6}, gen, torch::kFloat64);
  EXPECT_TRUE(torch::allclose(model->forward(params, x), module(x), 0, 1e-12));
}

// Each activation between the layers and none after the last.
TEST(DenseTest, MlpIsTorchLinearsWithTheActivationBetween) {
  const std::vector<std::pair<Activation, nn::AnyModule>> cases{
      {Activation::relu(), nn::AnyModule(nn::ReLU())},
      {Activation::leakyRelu(0.1), nn::AnyModule(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.1)))},
      {Activation::tanh(), nn::AnyModule(nn::Tanh())}};
  for (const auto& [activation, torchActivation] : cases) {
    at::Generator gen = at::detail::createCPUGenerator(2);
    const auto model = mlp({6, 8, 5, 3}, activation, Init::LinearDefault);
    EXPECT_EQ(model->layout()[4].name, "layer3.weight");
    const TensorList params = model->initialize(gen, kDoubles);
    nn::Sequential module(nn::Linear(6, 8), torchActivation, nn::Linear(8, 5), torchActivation, nn::Linear(5, 3));
    module->to(torch::kFloat64);
    {
      torch::NoGradGuard noGrad;
      const auto torchParams = module->parameters();
      ASSERT_EQ(torchParams.size(), params.size());
      for (size_t i = 0; i < params.size(); ++i) torchParams[i].copy_(params[i]);
    }
    const torch::Tensor x = torch::randn({7, 6}, gen, torch::kFloat64);
    EXPECT_TRUE(torch::allclose(model->forward(params, x), module->forward(x), 0, 1e-12));
  }
}

TEST(DenseTest, GradientsReachEveryParameterAndTheInput) {
  at::Generator gen = at::detail::createCPUGenerator(4);
  const auto model = mlp({5, 7, 3}, Activation::leakyRelu(0.01), Init::LinearDefault);
  const TensorList params = leaves(model->initialize(gen, kDoubles));
  const torch::Tensor x = torch::randn({9, 5}, gen, torch::kFloat64).requires_grad_(true);
  const TensorList grads = gradients(model->forward(params, x).pow(2).sum(), concat(params, {x}), false, false);
  for (size_t i = 0; i < grads.size(); ++i) {
    EXPECT_TRUE(torch::isfinite(grads[i]).all().item<bool>()) << i;
    EXPECT_GT(grads[i].abs().min().item<double>(), 0.0) << i;
  }
}

TEST(DenseTest, RefusesParametersAndInputsThatDoNotFitTheLayout) {
  at::Generator gen = at::detail::createCPUGenerator(0);
  const auto model = mlp({4, 3, 2}, Activation::relu(), Init::LinearDefault);
  const TensorList params = model->initialize(gen, kDoubles);
  const torch::Tensor x = torch::randn({2, 4}, kDoubles);
  EXPECT_TRUE(refused([&] { model->forward({params[0], params[1]}, x); }, "SHAPE_MISMATCH", "takes 4 parameters; got 2"));
  TensorList wrong = params;
  wrong[2] = torch::zeros({3, 2}, kDoubles);
  EXPECT_TRUE(refused([&] { model->forward(wrong, x); }, "SHAPE_MISMATCH", "parameter layer2.weight must be [2, 3]; got [3, 2]"));
  wrong[2] = torch::Tensor();
  EXPECT_TRUE(refused([&] { model->forward(wrong, x); }, "SHAPE_MISMATCH", "parameter layer2.weight"));
  EXPECT_TRUE(refused([&] { model->forward(params, torch::randn({2, 5}, kDoubles)); }, "SHAPE_MISMATCH", "input must be [batch, 4]; got [2, 5]"));
  EXPECT_TRUE(refused([&] { model->forward(params, torch::randn({4}, kDoubles)); }, "SHAPE_MISMATCH", "input"));
  EXPECT_TRUE(refused([&] { model->forward(params, x.to(torch::kFloat32)); }, "DTYPE", "parameter layer1.weight"));
}

TEST(DenseTest, RefusesWidthsThatMakeNoModel) {
  EXPECT_TRUE(refused([] { mlp({4}, Activation::relu(), Init::Zeros); }, "INVALID_ARGUMENT", "widths"));
  EXPECT_TRUE(refused([] { mlp({4, 0, 2}, Activation::relu(), Init::Zeros); }, "INVALID_ARGUMENT", "widths[1]"));
  EXPECT_TRUE(refused([] { linear(0, 2, Init::Zeros); }, "INVALID_ARGUMENT", "in and out"));
}

}  // namespace
}  // namespace bilevel::core::models

// The models' building blocks against the torch::nn modules they stand for, given the same
// parameters, and their parameter specs against those modules' shapes and defaults.
#include "core/models/layers.h"

#include <ATen/CPUGeneratorImpl.h>

#include "../support.h"

namespace bilevel::core::models {
namespace {

namespace nn = torch::nn;

at::Generator seeded() { return at::detail::createCPUGenerator(3); }

torch::Tensor randomDoubles(std::vector<int64_t> shape, at::Generator& gen) { return torch::randn(shape, gen, torch::kFloat64); }

// Copies value into a module's parameter.
void assign(torch::Tensor& parameter, const torch::Tensor& value) {
  torch::NoGradGuard noGrad;
  parameter.copy_(value);
}

::testing::AssertionResult same(const torch::Tensor& actual, const torch::Tensor& expected) {
  if (actual.sizes() != expected.sizes()) return ::testing::AssertionFailure() << actual.sizes() << " against " << expected.sizes();
  const double error = (actual - expected).abs().max().item<double>();
  if (error > 1e-12) return ::testing::AssertionFailure() << "max error " << error;
  return ::testing::AssertionSuccess();
}

TEST(LayersTest, LinearLayerIsTorchLinear) {
  at::Generator gen = seeded();
  nn::Linear module(nn::LinearOptions(5, 3));
  module->to(torch::kFloat64);
  const torch::Tensor W = randomDoubles({3, 5}, gen), b = randomDoubles({3}, gen), x = randomDoubles({4, 5}, gen);
  assign(module->weight, W);
  assign(module->bias, b);
  EXPECT_TRUE(same(linearLayer(x, W, b), module(x)));
}

TEST(LayersTest, ActivationsAreTorchs) {
  at::Generator gen = seeded();
  const torch::Tensor x = randomDoubles({20}, gen);
  EXPECT_TRUE(same(Activation::relu()(x), nn::ReLU()(x)));
  EXPECT_TRUE(same(Activation::leakyRelu(0.2)(x), nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2))(x)));
  EXPECT_TRUE(same(Activation::tanh()(x), nn::Tanh()(x)));
}

// Stride, padding, dilation and groups all away from their defaults, with and without bias.
TEST(LayersTest, Conv2dIsTorchConv2d) {
  at::Generator gen = seeded();
  const torch::Tensor x = randomDoubles({2, 4, 11, 9}, gen);
  for (const bool withBias : {true, false}) {
    nn::Conv2d module(nn::Conv2dOptions(4, 6, 3).stride(2).padding(1).dilation(2).groups(2).bias(withBias));
    module->to(torch::kFloat64);
    const torch::Tensor W = randomDoubles({6, 2, 3, 3}, gen);
    const torch::Tensor b = withBias ? randomDoubles({6}, gen) : torch::Tensor();
    assign(module->weight, W);
    if (withBias) assign(module->bias, b);
    EXPECT_TRUE(same(conv2d(x, W, b, Conv2dOptions{2, 1, 2, 2}), module(x))) << "bias " << withBias;
  }
}

TEST(LayersTest, Conv2dParametersHaveTorchsShapesAndFanIn) {
  const std::vector<ParameterSpec> specs = conv2dParameters("block1.conv", 4, 6, 3, true, 2);
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[0].name, "block1.conv.weight");
  EXPECT_EQ(specs[0].shape, (std::vector<int64_t>{6, 2, 3, 3}));
  EXPECT_EQ(specs[1].name, "block1.conv.bias");
  EXPECT_EQ(specs[1].shape, (std::vector<int64_t>{6}));
  for (const ParameterSpec& spec : specs) {
    EXPECT_EQ(spec.init, Init::LinearDefault);
    EXPECT_EQ(spec.fanIn, 2 * 3 * 3);
  }
  EXPECT_EQ(conv2dParameters("c", 4, 6, 3, false).size(), 1u);
}

// Train mode: the batch's statistics, with and without the affine transform, on 4-D and 2-D inputs.
TEST(LayersTest, BatchNormIsTorchBatchNormInTrainMode) {
  at::Generator gen = seeded();
  const torch::Tensor x = randomDoubles({5, 3, 4, 4}, gen) * 2 + 1;
  const torch::Tensor weight = randomDoubles({3}, gen), bias = randomDoubles({3}, gen);
  nn::BatchNorm2d affine(nn::BatchNorm2dOptions(3).track_running_stats(false));
  affine->to(torch::kFloat64);
  affine->train();
  assign(affine->weight, weight);
  assign(affine->bias, bias);
  EXPECT_TRUE(same(batchNorm(x, weight, bias), affine(x)));
  nn::BatchNorm2d plain(nn::BatchNorm2dOptions(3).affine(false).track_running_stats(false));
  plain->train();
  EXPECT_TRUE(same(batchNorm(x, {}, {}), plain(x)));
  const torch::Tensor flat = randomDoubles({6, 3}, gen);
  nn::BatchNorm1d flatModule(nn::BatchNorm1dOptions(3).affine(false).track_running_stats(false));
  EXPECT_TRUE(same(batchNorm(flat, {}, {}), flatModule(flat)));
}

// A hand-worked case: each channel has mean 2 and variance 1 over the batch.
TEST(LayersTest, BatchNormUsesTheBatchStatistics) {
  const torch::Tensor x = torch::tensor({1.0, 3.0, 1.0, 3.0}, torch::kFloat64).reshape({4, 1, 1, 1});
  const torch::Tensor out = batchNorm(x, torch::full({1}, 2.0, torch::kFloat64), torch::full({1}, 0.5, torch::kFloat64), 0.0);
  EXPECT_TRUE(same(out.flatten(), torch::tensor({-1.5, 2.5, -1.5, 2.5}, torch::kFloat64)));
}

TEST(LayersTest, BatchNormParametersStartAsTorchs) {
  const std::vector<ParameterSpec> specs = batchNormParameters("norm", 7);
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[0].name, "norm.weight");
  EXPECT_EQ(specs[0].init, Init::Ones);
  EXPECT_EQ(specs[1].name, "norm.bias");
  EXPECT_EQ(specs[1].init, Init::Zeros);
  EXPECT_EQ(specs[1].shape, (std::vector<int64_t>{7}));
}

TEST(LayersTest, PoolingIsTorchs) {
  at::Generator gen = seeded();
  const torch::Tensor x = randomDoubles({2, 3, 9, 7}, gen);
  EXPECT_TRUE(same(maxPool2d(x, 2), nn::MaxPool2d(nn::MaxPool2dOptions(2))(x)));
  EXPECT_TRUE(same(maxPool2d(x, 3, 2, 1), nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).padding(1))(x)));
  EXPECT_TRUE(same(avgPool2d(x, 2), nn::AvgPool2d(nn::AvgPool2dOptions(2))(x)));
  EXPECT_TRUE(same(avgPool2d(x, 3, 1, 1), nn::AvgPool2d(nn::AvgPool2dOptions(3).stride(1).padding(1))(x)));
}

}  // namespace
}  // namespace bilevel::core::models

// convNet4: its layout, its forward against the same network assembled from torch::nn modules
// (BatchNorm2d in train mode) with the parameters copied in, gradients in every parameter, and
// what it refuses.
#include "core/models/conv_net.h"

#include <ATen/CPUGeneratorImpl.h>

#include "../support.h"

namespace bilevel::core::models {
namespace {

namespace nn = torch::nn;
using test::refused;

const auto kDoubles = torch::TensorOptions().dtype(torch::kFloat64);

// The blocks and head as torch::nn modules, in the layout's parameter order.
nn::Sequential torchConvNet4(int64_t inChannels, int64_t channels, int64_t flat, int64_t classes) {
  nn::Sequential net;
  for (int block = 0; block < 4; ++block) {
    net->push_back(nn::Conv2d(nn::Conv2dOptions(block == 0 ? inChannels : channels, channels, 3).padding(1)));
    net->push_back(nn::BatchNorm2d(nn::BatchNorm2dOptions(channels).track_running_stats(false)));
    net->push_back(nn::ReLU());
    net->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(2)));
  }
  net->push_back(nn::Flatten());
  net->push_back(nn::Linear(flat, classes));
  net->to(torch::kFloat64);
  net->train();
  return net;
}

TEST(ConvNetTest, LayoutNamesEachBlocksParameters) {
  const auto model = convNet4(3, 32, 84, 5);
  const auto& layout = model->layout();
  ASSERT_EQ(layout.size(), 18u);
  EXPECT_EQ(layout[0].name, "block1.conv.weight");
  EXPECT_EQ(layout[0].shape, (std::vector<int64_t>{32, 3, 3, 3}));
  EXPECT_EQ(layout[0].fanIn, 27);
  EXPECT_EQ(layout[1].name, "block1.conv.bias");
  EXPECT_EQ(layout[2].name, "block1.norm.weight");
  EXPECT_EQ(layout[2].init, Init::Ones);
  EXPECT_EQ(layout[3].name, "block1.norm.bias");
  EXPECT_EQ(layout[3].init, Init::Zeros);
  EXPECT_EQ(layout[4].shape, (std::vector<int64_t>{32, 32, 3, 3}));
  EXPECT_EQ(layout[15].name, "block4.norm.bias");
  // 84 -> 42 -> 21 -> 10 -> 5.
  EXPECT_EQ(layout[16].name, "head.weight");
  EXPECT_EQ(layout[16].shape, (std::vector<int64_t>{5, 32 * 5 * 5}));
  EXPECT_EQ(layout[17].name, "head.bias");
  EXPECT_EQ(model->inputShape(), (std::vector<int64_t>{3, 84, 84}));
}

// 28 -> 14 -> 7 -> 3 -> 1: odd sides floor as torch's pooling does.
TEST(ConvNetTest, ForwardIsTheTorchModules) {
  at::Generator gen = at::detail::createCPUGenerator(8);
  const auto model = convNet4(1, 4, 28, 5);
  TensorList params = model->initialize(gen, kDoubles);
  // Norms away from their identity start, so the copy of each is checked.
  for (int block = 0; block < 4; ++block) {
    params[4 * block + 2] = torch::rand({4}, gen, torch::kFloat64) + 0.5;
    params[4 * block + 3] = torch::randn({4}, gen, torch::kFloat64);
  }
  nn::Sequential net = torchConvNet4(1, 4, 4, 5);
  {
    torch::NoGradGuard noGrad;
    const auto torchParams = net->parameters();
    ASSERT_EQ(torchParams.size(), params.size());
    for (size_t i = 0; i < params.size(); ++i) torchParams[i].copy_(params[i]);
  }
  const torch::Tensor x = torch::randn({6, 1, 28, 28}, gen, torch::kFloat64);
  const torch::Tensor out = model->forward(params, x);
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{6, 5}));
  EXPECT_TRUE(torch::allclose(out, net->forward(x), 0, 1e-10));
  // Without its head, the network's features: the torch modules up to the flattening.
  const auto backbone = convNet4(1, 4, 28, 0);
  ASSERT_EQ(backbone->layout().size(), 16u);
  const torch::Tensor features = backbone->forward(TensorList(params.begin(), params.begin() + 16), x);
  EXPECT_EQ(features.size(1), convNet4Features(4, 28));
  const torch::Tensor head = params[16], bias = params[17];
  EXPECT_TRUE(torch::allclose(torch::addmm(bias, features, head.t()), out, 0, 1e-10));
}

TEST(ConvNetTest, GradientsReachEveryParameterAndTheInput) {
  at::Generator gen = at::detail::createCPUGenerator(9);
  const auto model = convNet4(3, 4, 16, 3);
  const TensorList params = leaves(model->initialize(gen, kDoubles));
  const torch::Tensor x = torch::randn({5, 3, 16, 16}, gen, torch::kFloat64).requires_grad_(true);
  const torch::Tensor labels = torch::tensor({0, 1, 2, 0, 1}, torch::kInt64);
  const torch::Tensor loss = torch::nn::functional::cross_entropy(model->forward(params, x), labels);
  const TensorList grads = gradients(loss, concat(params, {x}), false, false);
  for (size_t i = 0; i < grads.size(); ++i) {
    const std::string name = i < params.size() ? model->layout()[i].name : "input";
    EXPECT_TRUE(torch::isfinite(grads[i]).all().item<bool>()) << name;
    EXPECT_GT(grads[i].abs().max().item<double>(), 0.0) << name;
  }
}

TEST(ConvNetTest, RefusesParametersAndInputsThatDoNotFitTheLayout) {
  at::Generator gen = at::detail::createCPUGenerator(0);
  const auto model = convNet4(1, 4, 16, 3);
  TensorList params = model->initialize(gen, kDoubles);
  const torch::Tensor x = torch::randn({2, 1, 16, 16}, kDoubles);
  params[6] = torch::ones({5}, kDoubles);
  EXPECT_TRUE(refused([&] { model->forward(params, x); }, "SHAPE_MISMATCH", "parameter block2.norm.weight must be [4]; got [5]"));
  params = model->initialize(gen, kDoubles);
  EXPECT_TRUE(refused([&] { model->forward(params, torch::randn({2, 1, 28, 28}, kDoubles)); }, "SHAPE_MISMATCH",
                      "input must be [batch, 1, 16, 16]; got [2, 1, 28, 28]"));
  EXPECT_TRUE(refused([] { convNet4(1, 4, 15, 3); }, "INVALID_ARGUMENT", "imageSize must be >= 16"));
  EXPECT_TRUE(refused([] { convNet4(0, 4, 16, 3); }, "INVALID_ARGUMENT", "inChannels"));
}

}  // namespace
}  // namespace bilevel::core::models

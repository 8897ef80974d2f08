// resNet12: its layout and parameter count, its forward against the same network assembled from
// torch::nn modules (BatchNorm2d in train mode) with the parameters copied in, its gradients
// against central differences, and what it refuses.
#include "core/models/res_net12.h"

#include <ATen/CPUGeneratorImpl.h>

#include "../support.h"
#include "central_differences.h"

namespace bilevel::core::models {
namespace {

namespace nn = torch::nn;
using test::refused;

const auto kDoubles = torch::TensorOptions().dtype(torch::kFloat64);

// One residual block as torch::nn modules, registered in the layout's parameter order.
struct TorchBlock : nn::Module {
  TorchBlock(int64_t in, int64_t width) {
    for (int i = 0; i < 3; ++i) {
      convs.push_back(register_module("conv" + std::to_string(i + 1),
                                      nn::Conv2d(nn::Conv2dOptions(i == 0 ? in : width, width, 3).padding(1).bias(false))));
      norms.push_back(register_module("norm" + std::to_string(i + 1), nn::BatchNorm2d(nn::BatchNorm2dOptions(width).track_running_stats(false))));
    }
    shortcutConv = register_module("shortcutConv", nn::Conv2d(nn::Conv2dOptions(in, width, 1).bias(false)));
    shortcutNorm = register_module("shortcutNorm", nn::BatchNorm2d(nn::BatchNorm2dOptions(width).track_running_stats(false)));
  }
  torch::Tensor forward(torch::Tensor x) {
    nn::LeakyReLU leaky(nn::LeakyReLUOptions().negative_slope(0.1));
    torch::Tensor out = leaky(norms[0](convs[0](x)));
    out = leaky(norms[1](convs[1](out)));
    out = norms[2](convs[2](out)) + shortcutNorm(shortcutConv(x));
    return nn::MaxPool2d(nn::MaxPool2dOptions(2))(leaky(out));
  }
  std::vector<nn::Conv2d> convs;
  std::vector<nn::BatchNorm2d> norms;
  nn::Conv2d shortcutConv{nullptr};
  nn::BatchNorm2d shortcutNorm{nullptr};
};

TEST(ResNet12Test, LayoutAndTheUsualParameterCount) {
  const auto model = resNet12(3, 84, 5);
  const auto& layout = model->layout();
  ASSERT_EQ(layout.size(), 4u * 12 + 2);
  EXPECT_EQ(layout[0].name, "block1.conv1.weight");
  EXPECT_EQ(layout[0].shape, (std::vector<int64_t>{64, 3, 3, 3}));
  EXPECT_EQ(layout[1].name, "block1.norm1.weight");
  EXPECT_EQ(layout[3].shape, (std::vector<int64_t>{64, 64, 3, 3}));
  EXPECT_EQ(layout[9].name, "block1.shortcut.conv.weight");
  EXPECT_EQ(layout[9].shape, (std::vector<int64_t>{64, 3, 1, 1}));
  EXPECT_EQ(layout[12].shape, (std::vector<int64_t>{160, 64, 3, 3}));
  // 84 -> 42 -> 21 -> 10 -> 5.
  EXPECT_EQ(layout[48].name, "head.weight");
  EXPECT_EQ(layout[48].shape, (std::vector<int64_t>{5, 640 * 5 * 5}));
  // The backbone of MetaOptNet and its successors: 12.4M parameters (by hand, per block
  // 9 in w + 18 w^2 + in w + 8 w for widths 64, 160, 320, 640 from 3 channels).
  int64_t count = 0;
  for (size_t i = 0; i < 48; ++i) count += c10::multiply_integers(layout[i].shape);
  EXPECT_EQ(count, 12424320);
  EXPECT_EQ(resNet12Features(84), 640 * 25);
}

TEST(ResNet12Test, ForwardIsTheTorchModules) {
  at::Generator gen = at::detail::createCPUGenerator(3);
  const ResNet12Options options{{2, 3, 4, 5}};
  const auto model = resNet12(1, 20, 4, options);
  TensorList params = model->initialize(gen, kDoubles);
  // Norms away from their identity start, so the copy of each is checked.
  for (size_t i = 0; i < params.size(); ++i) {
    if (model->layout()[i].name.find("norm") != std::string::npos) params[i] = torch::randn(params[i].sizes(), gen, torch::kFloat64);
  }
  nn::Sequential net;
  int64_t in = 1;
  for (int64_t width : options.widths) net->push_back(std::make_shared<TorchBlock>(std::exchange(in, width), width));
  net->push_back(nn::Flatten());
  net->push_back(nn::Linear(5 * 1 * 1, 4));  // 20 -> 10 -> 5 -> 2 -> 1
  net->to(torch::kFloat64);
  {
    torch::NoGradGuard noGrad;
    const auto torchParams = net->parameters();
    ASSERT_EQ(torchParams.size(), params.size());
    for (size_t i = 0; i < params.size(); ++i) torchParams[i].copy_(params[i]);
  }
  const torch::Tensor x = torch::randn({6, 1, 20, 20}, gen, torch::kFloat64);
  EXPECT_TRUE(torch::allclose(model->forward(params, x), net->forward(x), 0, 1e-10));
  // Without its head, the blocks' flattened features, on a larger map (40 -> 20 -> 10 -> 5 -> 2).
  const auto backbone = resNet12(1, 40, 0, options);
  const TensorList blocks(params.begin(), params.begin() + 48);
  const torch::Tensor big = torch::randn({3, 1, 40, 40}, gen, torch::kFloat64);
  torch::Tensor reference = big;
  for (size_t block = 0; block < 4; ++block) reference = net[block]->as<TorchBlock>()->forward(reference);
  const torch::Tensor features = backbone->forward(blocks, big);
  EXPECT_EQ(features.size(1), resNet12Features(40, options));
  EXPECT_TRUE(torch::allclose(features, reference.flatten(1), 0, 1e-10));
}

// d loss / d parameter against central differences, for one entry of every parameter.
TEST(ResNet12Test, GradientsAreTheFiniteDifferences) {
  at::Generator gen = at::detail::createCPUGenerator(4);
  const auto model = resNet12(2, 16, 3, {{2, 2, 3, 3}, /*slope=*/0.2});
  const TensorList params = leaves(model->initialize(gen, kDoubles));
  const torch::Tensor x = torch::randn({4, 2, 16, 16}, gen, torch::kFloat64);
  const torch::Tensor labels = torch::tensor({0, 1, 2, 1}, torch::kInt64);
  const auto loss = [&](const TensorList& p) { return torch::nn::functional::cross_entropy(model->forward(p, x), labels); };
  const TensorList grads = gradients(loss(params), params, false, false);
  for (size_t i = 0; i < params.size(); ++i) {
    EXPECT_TRUE(test::matchesCentralDifference(loss, params, grads, i, params[i].numel() / 2)) << model->layout()[i].name;
  }
}

TEST(ResNet12Test, RefusesWhatDoesNotFit) {
  EXPECT_TRUE(refused([] { resNet12(3, 15, 5); }, "INVALID_ARGUMENT", "imageSize must be >= 16"));
  EXPECT_TRUE(refused([] { resNet12(3, 84, 5, {{64, 0, 320, 640}}); }, "INVALID_ARGUMENT", "every width"));
  EXPECT_TRUE(refused([] { resNet12(3, 84, -1); }, "INVALID_ARGUMENT", "classes >= 0"));
  at::Generator gen = at::detail::createCPUGenerator(0);
  const auto model = resNet12(1, 16, 2, {{2, 2, 2, 2}});
  const TensorList params = model->initialize(gen, kDoubles);
  EXPECT_TRUE(refused([&] { model->forward(params, torch::randn({2, 1, 28, 28}, kDoubles)); }, "SHAPE_MISMATCH",
                      "input must be [batch, 1, 16, 16]; got [2, 1, 28, 28]"));
}

}  // namespace
}  // namespace bilevel::core::models

// The DARTS search network: its parameter count worked by hand for a small configuration, where
// its reduction cells sit, its output, its gradients in the weights and the architecture weights
// against central differences, and what it refuses.
#include "core/models/darts/search_network.h"

#include <ATen/CPUGeneratorImpl.h>

#include "../../support.h"
#include "../central_differences.h"

namespace bilevel::core::models::darts {
namespace {

using test::refused;

// 3 channels in, 8 x 8 images, 5 classes, C = 4, 3 cells (reductions at cells 1 and 2), 2 nodes
// concatenated, a stem of 12 channels.
const SearchNetworkOptions kSmall{3, 8, 5, 4, 3, 2, 2, 3};

int64_t numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (const int64_t d : shape) n *= d;
  return n;
}

TEST(DartsSearchNetwork, ParameterCountWorkedByHand) {
  // A mixed edge of C channels: sep convs 2 (9C + C^2) + 2 (25C + C^2), dil convs 9C + C^2 and
  // 25C + C^2, so 102 C + 6 C^2; at stride 2 the factorized skip adds C^2.
  const auto edge = [](int64_t c, bool reduce) { return 102 * c + 6 * c * c + (reduce ? c * c : 0); };
  const int64_t stem = 12 * 3 * 9 + 2 * 12;
  // cell 0: normal, C 4, inputs 12 and 12, 5 edges at stride 1; outputs 2 x 4 = 8 channels.
  const int64_t cell0 = 12 * 4 + 12 * 4 + 5 * edge(4, false);
  // cell 1: reduction, C 8, inputs 12 and 8, the 4 edges from the inputs at stride 2; outputs 16.
  const int64_t cell1 = 12 * 8 + 8 * 8 + 4 * edge(8, true) + edge(8, false);
  // cell 2: reduction after a reduction, C 16, inputs 8 (factorized) and 16; outputs 32.
  const int64_t cell2 = 8 * 16 + 16 * 16 + 4 * edge(16, true) + edge(16, false);
  const int64_t classifier = 32 * 5 + 5;
  const auto network = searchNetwork(kSmall);
  int64_t weights = 0;
  for (int64_t i = 0; i < network->weightCount(); ++i) weights += numel(network->layout()[static_cast<size_t>(i)].shape);
  EXPECT_EQ(weights, stem + cell0 + cell1 + cell2 + classifier);
  EXPECT_EQ(network->layout().size() - network->weightCount(), 2u);
  EXPECT_EQ(network->layout().back().name, "alpha.reduce");
  EXPECT_EQ(network->layout().back().shape, (std::vector<int64_t>{5, 8}));
}

TEST(DartsSearchNetwork, ReductionCellsAtAThirdAndTwoThirds) {
  SearchNetworkOptions eight;
  const auto network = searchNetwork(eight);
  for (int64_t cell = 0; cell < 8; ++cell) EXPECT_EQ(network->isReduction(cell), cell == 2 || cell == 5) << cell;
  EXPECT_TRUE(searchNetwork(kSmall)->isReduction(1));
  EXPECT_FALSE(searchNetwork(kSmall)->isReduction(0));
}

TEST(DartsSearchNetwork, GradientsInWeightsAndAlphasAreTheFiniteDifferences) {
  at::Generator gen = at::detail::createCPUGenerator(5);
  const auto network = searchNetwork(kSmall);
  TensorList params = network->initialize(gen, torch::kFloat64);
  params[params.size() - 2] = torch::randn({5, 8}, gen, torch::kFloat64);
  params.back() = torch::randn({5, 8}, gen, torch::kFloat64);
  params = leaves(params);
  const torch::Tensor x = torch::randn({4, 3, 8, 8}, gen, torch::kFloat64);
  const torch::Tensor labels = torch::tensor({0, 1, 4, 2}, torch::kInt64);
  const auto loss = [&](const TensorList& p) { return torch::nn::functional::cross_entropy(network->forward(p, x), labels); };
  const torch::Tensor value = loss(params);
  EXPECT_EQ(network->forward(params, x).sizes(), (std::vector<int64_t>{4, 5}));
  const TensorList grads = gradients(value, params, false, false);
  // The stem, a mixed edge's convolution in each cell, the classifier, and both alphas.
  std::vector<size_t> checked = {0, 5, params.size() - 4, params.size() - 2, params.size() - 1};
  for (size_t i = 0; i < params.size(); ++i) {
    if (network->layout()[i].name.rfind("cell2.edge4", 0) == 0) checked.push_back(i);
  }
  for (const size_t i : checked) {
    for (const int64_t entry : {int64_t{0}, params[i].numel() / 2}) {
      EXPECT_TRUE(test::matchesCentralDifference(loss, params, grads, i, entry)) << network->layout()[i].name;
    }
  }
}

TEST(DartsSearchNetwork, RefusesWhatDoesNotFit) {
  SearchNetworkOptions odd = kSmall;
  odd.imageSize = 6;  // cell 1 halves 6 to 3, which cell 2 cannot halve
  EXPECT_TRUE(refused([&] { searchNetwork(odd); }, "INVALID_ARGUMENT", "imageSize 6 cannot be halved at every reduction cell"));
  SearchNetworkOptions wide = kSmall;
  wide.multiplier = 3;
  EXPECT_TRUE(refused([&] { searchNetwork(wide); }, "INVALID_ARGUMENT", "multiplier must be in 1..nodes (2); got 3"));
  SearchNetworkOptions empty = kSmall;
  empty.cells = 0;
  EXPECT_TRUE(refused([&] { searchNetwork(empty); }, "INVALID_ARGUMENT", "must be >= 1"));
}

}  // namespace
}  // namespace bilevel::core::models::darts

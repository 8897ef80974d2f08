// The DARTS evaluation network: parameter counts worked by hand and DARTS's reported size of its
// DARTS_V2 genotype, the training and evaluation forwards (auxiliary head, drop path), gradients
// against central differences, and malformed genotypes refused.
#include "core/models/darts/evaluation_network.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>

#include "../../support.h"
#include "../central_differences.h"

namespace bilevel::core::models::darts {
namespace {

using test::refused;
using O = Operation;

// The cell DARTS's second-order search found (DARTS_V2 in its genotypes.py), as published.
const Genotype kDartsV2{
    {{{O::SepConv3x3, 0}, {O::SepConv3x3, 1}, {O::SepConv3x3, 0}, {O::SepConv3x3, 1}, {O::SepConv3x3, 1}, {O::SkipConnect, 0},
      {O::SkipConnect, 0}, {O::DilConv3x3, 2}},
     {2, 3, 4, 5}},
    {{{O::MaxPool3x3, 0}, {O::MaxPool3x3, 1}, {O::SkipConnect, 2}, {O::MaxPool3x3, 1}, {O::MaxPool3x3, 0}, {O::SkipConnect, 2},
      {O::SkipConnect, 2}, {O::MaxPool3x3, 1}},
     {2, 3, 4, 5}},
};

// One node per cell: normal sep_conv_3x3 from 0 and skip from 1; reduce max pool from 0 and dil_conv_3x3 from 1.
const Genotype kTiny{{{{O::SepConv3x3, 0}, {O::SkipConnect, 1}}, {2}}, {{{O::MaxPool3x3, 0}, {O::DilConv3x3, 1}}, {2}}};

TEST(DartsEvaluationNetwork, ParameterCountWorkedByHand) {
  // 1 channel in, 8 x 8, 3 classes, C = 2, 3 cells (reductions at 1 and 2), no auxiliary head.
  const auto network = evaluationNetwork(kTiny, {1, 8, 3, 2, 3, 3, false});
  const int64_t stem = 6 * 9 + 2 * 6;
  // cell 0: inputs 6, 6 to C 2 (conv 1 x 1 + norm each); sep_conv_3x3: twice (depthwise 9 C, pointwise C^2, norm 2 C).
  const int64_t cell0 = 2 * (6 * 2 + 4) + 2 * (9 * 2 + 4 + 4);
  // cell 1: inputs 6, 2 to C 4; dil_conv_3x3 at stride 2: 9 C + C^2 + 2 C; the pool has none.
  const int64_t cell1 = (6 * 4 + 8) + (2 * 4 + 8) + (9 * 4 + 16 + 8);
  // cell 2: inputs 2 (factorized: two 2 -> 4 convs) and 4 to C 8.
  const int64_t cell2 = (2 * (2 * 4) + 16) + (4 * 8 + 16) + (9 * 8 + 64 + 16);
  const int64_t classifier = 8 * 3 + 3;
  EXPECT_EQ(network->parameterCountWithoutAuxiliary(), stem + cell0 + cell1 + cell2 + classifier);
}

TEST(DartsEvaluationNetwork, DartsV2HasTheSizeDartsReports) {
  // DARTS's train.py reports "param size = 3.349342MB" for DARTS_V2 at C = 36, 20 cells (the auxiliary head not counted).
  const auto network = evaluationNetwork(kDartsV2, {});
  EXPECT_EQ(network->parameterCountWithoutAuxiliary(), 3349342);
}

TEST(DartsEvaluationNetwork, TrainingAndEvaluationForwards) {
  at::Generator gen = at::detail::createCPUGenerator(6);
  const auto network = evaluationNetwork(kDartsV2, {3, 32, 10, 4, 3, 3, true});
  const TensorList params = network->initialize(gen, torch::kFloat64);
  const torch::Tensor x = torch::randn({4, 3, 32, 32}, gen, torch::kFloat64);
  const torch::Tensor evaluated = network->forward(params, x);
  EXPECT_EQ(evaluated.sizes(), (std::vector<int64_t>{4, 10}));
  const auto plain = network->forwardTraining(params, x, {});
  EXPECT_TRUE(torch::equal(plain.logits, evaluated));
  EXPECT_EQ(plain.auxiliaryLogits.sizes(), (std::vector<int64_t>{4, 10}));
  // Drop path changes the output, and the same generator state gives the same masks.
  at::Generator masks = at::detail::createCPUGenerator(7), same = at::detail::createCPUGenerator(7);
  const auto dropped = network->forwardTraining(params, x, {0.3, &masks});
  EXPECT_FALSE(torch::allclose(dropped.logits, evaluated));
  EXPECT_TRUE(torch::equal(network->forwardTraining(params, x, {0.3, &same}).logits, dropped.logits));
  EXPECT_TRUE(refused([&] { network->forwardTraining(params, x, {0.3, nullptr}); }, "INVALID_ARGUMENT", "with a generator"));
}

TEST(DartsEvaluationNetwork, TheAuxiliaryHeadBetweenCellsTakesItsOwnParameters) {
  // 5 cells: the head reads cell 3 (a reduction) and cell 4 follows it, as at DARTS's 20 cells,
  // where a layout with the head's parameters anywhere else would feed it another layer's.
  at::Generator gen = at::detail::createCPUGenerator(8);
  const auto network = evaluationNetwork(kTiny, {1, 32, 10, 4, 5, 3, true});
  const std::vector<ParameterSpec>& layout = network->layout();
  const auto first = std::find_if(layout.begin(), layout.end(), [](const ParameterSpec& p) { return p.name.rfind("auxiliary.", 0) == 0; });
  ASSERT_NE(first, layout.end());
  EXPECT_EQ((first - 1)->name.rfind("cell3.", 0), 0u) << (first - 1)->name;
  EXPECT_EQ((first + 8)->name.rfind("cell4.", 0), 0u) << (first + 8)->name;  // the head: 2 convolutions, 2 norms, a linear layer
  TensorList params = network->initialize(gen, torch::kFloat64);
  for (torch::Tensor& p : params) p.requires_grad_(true);
  const auto out = network->forwardTraining(params, torch::randn({2, 1, 32, 32}, gen, torch::kFloat64), {});
  EXPECT_EQ(out.auxiliaryLogits.sizes(), (std::vector<int64_t>{2, 10}));
  // The head's loss moves the head's first convolution and no layer after cell 3.
  const size_t head = static_cast<size_t>(first - layout.begin());
  const TensorList grads = torch::autograd::grad({out.auxiliaryLogits.square().sum()}, params, {}, true, false, true);
  EXPECT_GT(grads[head].abs().sum().item<double>(), 0);
  EXPECT_FALSE(grads.back().defined() && grads.back().abs().sum().item<double>() > 0);
}

TEST(DartsEvaluationNetwork, GradientsAreTheFiniteDifferences) {
  at::Generator gen = at::detail::createCPUGenerator(8);
  const auto network = evaluationNetwork(kDartsV2, {3, 32, 5, 2, 3, 3, true});
  const TensorList params = leaves(network->initialize(gen, torch::kFloat64));
  const torch::Tensor x = torch::randn({3, 3, 32, 32}, gen, torch::kFloat64);
  const torch::Tensor labels = torch::tensor({0, 4, 2}, torch::kInt64);
  const auto loss = [&](const TensorList& p) {
    const auto out = network->forwardTraining(p, x, {});
    namespace F = torch::nn::functional;
    return F::cross_entropy(out.logits, labels) + 0.4 * F::cross_entropy(out.auxiliaryLogits, labels);
  };
  const TensorList grads = gradients(loss(params), params, false, false);
  for (size_t i = 0; i < params.size(); i += 7) {
    EXPECT_TRUE(test::matchesCentralDifference(loss, params, grads, i, params[i].numel() / 2)) << network->layout()[i].name;
  }
}

TEST(DartsEvaluationNetwork, RefusesMalformedGenotypesAndSizes) {
  Genotype early = kTiny;
  early.normal.edges[1].input = 2;  // node 0 can only read states 0 and 1
  EXPECT_TRUE(refused([&] { evaluationNetwork(early, {}); }, "INVALID_ARGUMENT",
                      "genotype.normal: edge 1 of node 0 comes from state 2; states 0..1 come before it"));
  Genotype odd = kTiny;
  odd.reduce.edges.pop_back();
  EXPECT_TRUE(refused([&] { evaluationNetwork(odd, {}); }, "INVALID_ARGUMENT", "genotype.reduce: two edges per node are needed; got 1"));
  Genotype missing = kTiny;
  missing.normal.concat = {2, 3};
  EXPECT_TRUE(refused([&] { evaluationNetwork(missing, {}); }, "INVALID_ARGUMENT", "genotype.normal_concat: state 3 does not exist (0..2)"));
  EXPECT_TRUE(refused([] { evaluationNetwork(kTiny, {1, 16, 3, 2, 3, 3, true}); }, "INVALID_ARGUMENT",
                      "the auxiliary head needs images of at least 8 x 8 after cell 2; they are 4"));
}

}  // namespace
}  // namespace bilevel::core::models::darts

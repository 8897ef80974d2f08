// The DARTS operations: output shapes at stride 1 and 2 with every declared parameter taken,
// pooling values worked by hand, the separable convolution against torch::nn modules, gradients
// against central differences, the mixed op against the weighted sum of the operations, and what
// they refuse.
#include "core/models/darts/operations.h"

#include <ATen/CPUGeneratorImpl.h>

#include "../../support.h"
#include "../central_differences.h"
#include "core/models/darts/mixed_op.h"
#include "core/models/layers.h"

namespace bilevel::core::models::darts {
namespace {

namespace nn = torch::nn;
using test::refused;

const auto kDoubles = torch::TensorOptions().dtype(torch::kFloat64);

// Random parameters for specs (the norms' scales and shifts too, so that each one matters).
TensorList randomParameters(const std::vector<ParameterSpec>& specs, at::Generator& gen) {
  TensorList params;
  for (const ParameterSpec& spec : specs) params.push_back(torch::randn(spec.shape, gen, torch::kFloat64).mul(0.5).requires_grad_());
  return params;
}

TEST(DartsOperations, ShapesAtStrideOneAndTwoTakeEveryDeclaredParameter) {
  at::Generator gen = at::detail::createCPUGenerator(1);
  const torch::Tensor x = torch::randn({2, 4, 8, 8}, gen, torch::kFloat64);
  for (const Operation op : kOperations) {
    for (const int64_t stride : {1, 2}) {
      const EdgeShape edge{4, stride, true};
      const TensorList params = randomParameters(operationParameters(op, "edge", edge), gen);
      ParameterCursor cursor(params);
      const torch::Tensor out = applyOperation(op, x, cursor, edge);
      EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, 4, 8 / stride, 8 / stride})) << operationName(op) << " stride " << stride;
      EXPECT_EQ(cursor.position(), params.size()) << operationName(op) << " stride " << stride;
    }
  }
  // A seven-pixel image: the padded operations give ceil(7 / 2) = 4 at stride 2.
  const torch::Tensor odd = torch::randn({1, 4, 7, 7}, gen, torch::kFloat64);
  for (const Operation op : {Operation::MaxPool3x3, Operation::AvgPool3x3, Operation::SepConv5x5, Operation::DilConv5x5}) {
    const TensorList params = randomParameters(operationParameters(op, "edge", {4, 2, true}), gen);
    ParameterCursor cursor(params);
    EXPECT_EQ(applyOperation(op, odd, cursor, {4, 2, true}).size(2), 4) << operationName(op);
  }
}

TEST(DartsOperations, PoolsNoneAndSkipByHand) {
  const torch::Tensor x = torch::arange(1, 17, kDoubles).view({1, 1, 4, 4});
  TensorList none;
  ParameterCursor cursor(none);
  // The corner's window holds 1, 2, 5, 6: the average counts only those (DARTS: count_include_pad=False).
  EXPECT_DOUBLE_EQ(applyOperation(Operation::AvgPool3x3, x, cursor, {1, 1})[0][0][0][0].item<double>(), 3.5);
  EXPECT_DOUBLE_EQ(applyOperation(Operation::MaxPool3x3, x, cursor, {1, 1})[0][0][0][0].item<double>(), 6.0);
  // Stride 2 centres windows on pixels (0, 0), (0, 2), ...: the second holds 2, 3, 4, 6, 7, 8.
  EXPECT_DOUBLE_EQ(applyOperation(Operation::AvgPool3x3, x, cursor, {1, 2})[0][0][0][1].item<double>(), 5.0);
  EXPECT_TRUE(torch::equal(applyOperation(Operation::None, x, cursor, {1, 2}), torch::zeros({1, 1, 2, 2}, kDoubles)));
  EXPECT_TRUE(torch::equal(applyOperation(Operation::SkipConnect, x, cursor, {1, 1}), x));
}

TEST(DartsOperations, SeparableConvolutionIsDartsSepConv) {
  at::Generator gen = at::detail::createCPUGenerator(2);
  const int64_t c = 3;
  const EdgeShape edge{c, 2, true};
  const TensorList params = randomParameters(operationParameters(Operation::SepConv3x3, "edge", edge), gen);
  // DARTS's SepConv(C, C, 3, stride 2, padding 1) with the parameters copied in, in layout order.
  nn::Sequential reference(nn::ReLU(), nn::Conv2d(nn::Conv2dOptions(c, c, 3).stride(2).padding(1).groups(c).bias(false)),
                           nn::Conv2d(nn::Conv2dOptions(c, c, 1).bias(false)), nn::BatchNorm2d(nn::BatchNorm2dOptions(c).track_running_stats(false)),
                           nn::ReLU(), nn::Conv2d(nn::Conv2dOptions(c, c, 3).padding(1).groups(c).bias(false)),
                           nn::Conv2d(nn::Conv2dOptions(c, c, 1).bias(false)), nn::BatchNorm2d(nn::BatchNorm2dOptions(c).track_running_stats(false)));
  reference->to(torch::kFloat64);
  {
    torch::NoGradGuard noGrad;
    const std::vector<torch::Tensor> theirs = reference->parameters();
    ASSERT_EQ(theirs.size(), params.size());
    for (size_t i = 0; i < params.size(); ++i) theirs[i].copy_(params[i]);
  }
  const torch::Tensor x = torch::randn({3, c, 6, 6}, gen, torch::kFloat64);
  ParameterCursor cursor(params);
  EXPECT_TRUE(torch::allclose(applyOperation(Operation::SepConv3x3, x, cursor, edge), reference->forward(x), 0, 1e-12));
}

TEST(DartsOperations, GradientsAreTheFiniteDifferences) {
  at::Generator gen = at::detail::createCPUGenerator(3);
  const torch::Tensor x = torch::randn({2, 2, 6, 6}, gen, torch::kFloat64).requires_grad_();
  const torch::Tensor probe = torch::randn({2, 2, 6, 6}, gen, torch::kFloat64);
  for (const Operation op : kOperations) {
    for (const int64_t stride : {1, 2}) {
      const EdgeShape edge{2, stride, true};
      const TensorList params = randomParameters(operationParameters(op, "edge", edge), gen);
      const TensorList inputs = concat(params, {x});
      const auto loss = [&](const TensorList& p) {
        ParameterCursor cursor(p);
        const torch::Tensor out = applyOperation(op, p.back(), cursor, edge);
        return (out * probe.slice(2, 0, out.size(2)).slice(3, 0, out.size(3))).sum();
      };
      const torch::Tensor value = loss(inputs);
      if (!value.requires_grad()) continue;  // none: nothing flows
      const TensorList grads = gradients(value, inputs, false, false);
      for (size_t i = 0; i < inputs.size(); ++i) {
        EXPECT_TRUE(test::matchesCentralDifference(loss, inputs, grads, i, inputs[i].numel() / 2))
            << operationName(op) << " stride " << stride << " input " << i;
      }
    }
  }
}

TEST(DartsMixedOp, IsTheWeightedSumOfTheOperations) {
  at::Generator gen = at::detail::createCPUGenerator(4);
  const torch::Tensor x = torch::randn({2, 4, 8, 8}, gen, torch::kFloat64);
  const torch::Tensor weights = torch::softmax(torch::randn({8}, gen, torch::kFloat64), 0);
  for (const int64_t stride : {1, 2}) {
    const std::vector<ParameterSpec> specs = mixedOpParameters("edge", 4, stride);
    const TensorList params = randomParameters(specs, gen);
    ParameterCursor cursor(params);
    const torch::Tensor mixed = mixedOp(x, weights, cursor, stride);
    EXPECT_EQ(cursor.position(), params.size());
    ParameterCursor again(params);
    torch::Tensor expected = torch::zeros_like(mixed);
    for (size_t o = 0; o < kOperations.size(); ++o) {
      const Operation op = kOperations[o];
      torch::Tensor out = applyOperation(op, x, again, {4, stride, false});
      if (op == Operation::MaxPool3x3 || op == Operation::AvgPool3x3) out = batchNorm(out, torch::Tensor(), torch::Tensor());
      expected += weights[static_cast<int64_t>(o)] * out;
    }
    EXPECT_TRUE(torch::allclose(mixed, expected, 0, 1e-12)) << "stride " << stride;
    // The search network's norms have no parameters: only convolutions are declared.
    for (const ParameterSpec& spec : specs) EXPECT_NE(spec.name.find("conv"), std::string::npos) << spec.name;
  }
}

TEST(DartsOperations, RefusesWhatDoesNotFit) {
  EXPECT_TRUE(refused([] { operationParameters(Operation::SkipConnect, "edge", {3, 2, true}); }, "INVALID_ARGUMENT",
                      "edge: a factorized reduction needs an even channel count; got 3"));
  EXPECT_TRUE(refused([] { operationParameters(Operation::SepConv3x3, "edge", {4, 3, true}); }, "INVALID_ARGUMENT",
                      "sep_conv_3x3: stride must be 1 or 2; got 3"));
  TensorList none;
  ParameterCursor cursor(none);
  EXPECT_TRUE(refused([&] { mixedOp(torch::zeros({1, 2, 4, 4}), torch::ones({7}), cursor, 1); }, "SHAPE_MISMATCH", "weights must be [8]"));
}

}  // namespace
}  // namespace bilevel::core::models::darts

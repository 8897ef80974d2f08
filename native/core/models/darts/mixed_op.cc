#include "core/models/darts/mixed_op.h"

#include "core/error.h"
#include "core/models/layers.h"

namespace bilevel::core::models::darts {
namespace {

bool isPool(Operation op) { return op == Operation::MaxPool3x3 || op == Operation::AvgPool3x3; }

}  // namespace

std::vector<ParameterSpec> mixedOpParameters(const std::string& prefix, int64_t channels, int64_t stride) {
  std::vector<ParameterSpec> specs;
  for (const Operation op : kOperations) {
    appendSpecs(specs, operationParameters(op, prefix + "." + operationName(op), {channels, stride, /*affine=*/false}));
  }
  return specs;
}

torch::Tensor mixedOp(const torch::Tensor& input, const torch::Tensor& weights, ParameterCursor& params, int64_t stride) {
  const int64_t count = static_cast<int64_t>(kOperations.size());
  if (weights.dim() != 1 || weights.size(0) != count) {
    throw Error("SHAPE_MISMATCH", "mixedOp: weights must be [" + std::to_string(count) + "]; got " + c10::str(weights.sizes()));
  }
  const EdgeShape edge{input.size(1), stride, /*affine=*/false};
  torch::Tensor sum;
  for (int64_t o = 0; o < count; ++o) {
    const Operation op = kOperations[static_cast<size_t>(o)];
    if (op == Operation::None) continue;
    torch::Tensor out = applyOperation(op, input, params, edge);
    if (isPool(op)) out = batchNorm(out, torch::Tensor(), torch::Tensor());
    const torch::Tensor term = weights[o] * out;
    sum = sum.defined() ? sum + term : term;
  }
  return sum;
}

}  // namespace bilevel::core::models::darts

#include "core/models/darts/search_cell.h"

#include "core/models/darts/mixed_op.h"
#include "core/models/darts/network_parts.h"

namespace bilevel::core::models::darts {
std::vector<ParameterSpec> searchCellParameters(const std::string& prefix, const CellShape& shape) {
  std::vector<ParameterSpec> specs = cellInputParameters(prefix, shape, /*affine=*/false);
  int64_t edge = 0;
  for (int64_t node = 0; node < shape.nodes; ++node) {
    for (int64_t input = 0; input < node + 2; ++input, ++edge) {
      const int64_t stride = shape.reduction && input < 2 ? 2 : 1;
      appendSpecs(specs, mixedOpParameters(prefix + ".edge" + std::to_string(edge), shape.channels, stride));
    }
  }
  return specs;
}

torch::Tensor searchCell(const torch::Tensor& s0, const torch::Tensor& s1, const torch::Tensor& weights, ParameterCursor& params,
                         const CellShape& shape) {
  std::vector<torch::Tensor> states = cellInputs(s0, s1, params, shape, /*affine=*/false);
  int64_t edge = 0;
  for (int64_t node = 0; node < shape.nodes; ++node) {
    torch::Tensor sum;
    for (int64_t input = 0; input < node + 2; ++input, ++edge) {
      const int64_t stride = shape.reduction && input < 2 ? 2 : 1;
      const torch::Tensor term = mixedOp(states[static_cast<size_t>(input)], weights[edge], params, stride);
      sum = sum.defined() ? sum + term : term;
    }
    states.push_back(sum);
  }
  return torch::cat(std::vector<torch::Tensor>(states.end() - shape.multiplier, states.end()), 1);
}

}  // namespace bilevel::core::models::darts

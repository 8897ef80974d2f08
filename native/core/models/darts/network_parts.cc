#include "core/models/darts/network_parts.h"

#include "core/models/layers.h"

namespace bilevel::core::models::darts {

std::vector<ParameterSpec> stemParameters(int64_t inChannels, int64_t channels) {
  std::vector<ParameterSpec> specs = conv2dParameters("stem.conv", inChannels, channels, 3, false);
  appendSpecs(specs, batchNormParameters("stem.norm", channels));
  return specs;
}

torch::Tensor stem(const torch::Tensor& input, ParameterCursor& params) {
  const torch::Tensor& convWeight = params.next();
  const torch::Tensor convolved = conv2d(input, convWeight, torch::Tensor(), {/*stride=*/1, /*padding=*/1});
  const torch::Tensor& normWeight = params.next();
  return batchNorm(convolved, normWeight, params.next());
}

std::vector<ParameterSpec> cellInputParameters(const std::string& prefix, const CellShape& shape, bool affine) {
  std::vector<ParameterSpec> specs = shape.afterReduction
                                         ? factorizedReduceParameters(prefix + ".preprocess0", shape.previousPrevious, shape.channels, affine)
                                         : reluConvNormParameters(prefix + ".preprocess0", shape.previousPrevious, shape.channels, 1, affine);
  appendSpecs(specs, reluConvNormParameters(prefix + ".preprocess1", shape.previous, shape.channels, 1, affine));
  return specs;
}

std::vector<torch::Tensor> cellInputs(const torch::Tensor& s0, const torch::Tensor& s1, ParameterCursor& params, const CellShape& shape,
                                      bool affine) {
  torch::Tensor first = shape.afterReduction ? factorizedReduce(s0, params, affine) : reluConvNorm(s0, params, 1, affine);
  return {first, reluConvNorm(s1, params, 1, affine)};
}

}  // namespace bilevel::core::models::darts

#include "core/models/layers.h"
#include "core/models/batch_norm_statistics.h"

namespace bilevel::core::models {
namespace {

std::string joined(const std::string& prefix, const std::string& name) { return prefix.empty() ? name : prefix + "." + name; }

int64_t strideOrKernel(int64_t stride, int64_t kernel) { return stride == 0 ? kernel : stride; }

}  // namespace

torch::Tensor Activation::operator()(const torch::Tensor& x) const {
  switch (kind_) {
    case Kind::Relu:
      return torch::relu(x);
    case Kind::LeakyRelu:
      return torch::leaky_relu(x, slope_);
    case Kind::Tanh:
      return torch::tanh(x);
  }
  return x;
}

torch::Tensor linearLayer(const torch::Tensor& input, const torch::Tensor& weight, const torch::Tensor& bias) {
  return torch::addmm(bias, input, weight.t());
}

std::vector<ParameterSpec> linearParameters(const std::string& prefix, int64_t in, int64_t out, Init init) {
  return {{joined(prefix, "weight"), {out, in}, init, in}, {joined(prefix, "bias"), {out}, init, in}};
}

torch::Tensor conv2d(const torch::Tensor& input, const torch::Tensor& weight, const torch::Tensor& bias,
                     const Conv2dOptions& o) {
  return torch::conv2d(input, weight, bias, o.stride, o.padding, o.dilation, o.groups);
}

std::vector<ParameterSpec> conv2dParameters(const std::string& prefix, int64_t in, int64_t out, int64_t kernel,
                                            bool withBias, int64_t groups) {
  const int64_t fanIn = in / groups * kernel * kernel;
  std::vector<ParameterSpec> specs{{joined(prefix, "weight"), {out, in / groups, kernel, kernel}, Init::LinearDefault, fanIn}};
  if (withBias) specs.push_back({joined(prefix, "bias"), {out}, Init::LinearDefault, fanIn});
  return specs;
}

torch::Tensor batchNorm(const torch::Tensor& input, const torch::Tensor& weight, const torch::Tensor& bias, double eps) {
  return scopedBatchNorm(input, weight, bias, eps);
}

std::vector<ParameterSpec> batchNormParameters(const std::string& prefix, int64_t channels) {
  return {{joined(prefix, "weight"), {channels}, Init::Ones, 0}, {joined(prefix, "bias"), {channels}, Init::Zeros, 0}};
}

torch::Tensor maxPool2d(const torch::Tensor& input, int64_t kernel, int64_t stride, int64_t padding) {
  return torch::max_pool2d(input, kernel, strideOrKernel(stride, kernel), padding);
}

torch::Tensor avgPool2d(const torch::Tensor& input, int64_t kernel, int64_t stride, int64_t padding, bool countPadding) {
  return torch::avg_pool2d(input, kernel, strideOrKernel(stride, kernel), padding, /*ceil_mode=*/false, countPadding);
}

}  // namespace bilevel::core::models

// The building blocks models are made of, as pure functions of their input and parameters, and
// the parameter specs of the blocks that have parameters (names prefixed, e.g. "block1.conv").
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/models/model.h"

namespace bilevel::core::models {

// An elementwise nonlinearity between layers.
class Activation {
 public:
  static Activation relu() { return Activation(Kind::Relu, 0.0); }
  static Activation leakyRelu(double slope) { return Activation(Kind::LeakyRelu, slope); }
  static Activation tanh() { return Activation(Kind::Tanh, 0.0); }

  torch::Tensor operator()(const torch::Tensor& x) const;

 private:
  enum class Kind { Relu, LeakyRelu, Tanh };
  Activation(Kind kind, double slope) : kind_(kind), slope_(slope) {}

  Kind kind_;
  double slope_;  // LeakyRelu's slope for negative inputs
};

// input [B, in] W^T + b for weight W [out, in] and bias b [out] (torch.nn.Linear).
torch::Tensor linearLayer(const torch::Tensor& input, const torch::Tensor& weight, const torch::Tensor& bias);
// prefix.weight [out, in], prefix.bias [out], both starting as init with fan-in `in`; an empty
// prefix names them weight and bias.
std::vector<ParameterSpec> linearParameters(const std::string& prefix, int64_t in, int64_t out, Init init);

struct Conv2dOptions {
  int64_t stride = 1;
  int64_t padding = 0;
  int64_t dilation = 1;
  int64_t groups = 1;
};
// 2-D convolution of input [B, C_in, H, W] with weight [C_out, C_in / groups, k, k] and bias
// [C_out] (undefined: none), as torch.nn.Conv2d.
torch::Tensor conv2d(const torch::Tensor& input, const torch::Tensor& weight, const torch::Tensor& bias,
                     const Conv2dOptions& options = {});
// prefix.weight [out, in / groups, kernel, kernel] and, when withBias, prefix.bias [out], both
// LinearDefault with fan-in in / groups * kernel^2 (torch.nn.Conv2d's default).
std::vector<ParameterSpec> conv2dParameters(const std::string& prefix, int64_t in, int64_t out, int64_t kernel,
                                            bool withBias, int64_t groups = 1);

// Batch normalization in train mode: each channel (dimension 1) normalized by the batch's own
// mean and biased variance, then scaled by weight and shifted by bias (each undefined: none).
// No running statistics are kept (as torch.nn.BatchNorm2d(track_running_stats=False)), unless a
// BatchNormScope (models/batch_norm_statistics.h) tracks them or normalizes by them.
torch::Tensor batchNorm(const torch::Tensor& input, const torch::Tensor& weight, const torch::Tensor& bias, double eps = 1e-5);
// prefix.weight [channels] (Ones) and prefix.bias [channels] (Zeros): torch.nn.BatchNorm2d's affine start.
std::vector<ParameterSpec> batchNormParameters(const std::string& prefix, int64_t channels);

// Max and average pooling over kernel x kernel windows of input [B, C, H, W]; stride 0 means the
// kernel size (torch's default). Average pooling divides by the whole window, padding included
// (torch's default), or, without countPadding, by the input pixels in it.
torch::Tensor maxPool2d(const torch::Tensor& input, int64_t kernel, int64_t stride = 0, int64_t padding = 0);
torch::Tensor avgPool2d(const torch::Tensor& input, int64_t kernel, int64_t stride = 0, int64_t padding = 0, bool countPadding = true);

}  // namespace bilevel::core::models

// The candidate operations on an edge of the DARTS search space (docs/algorithms.md §14), as pure
// functions of their input and parameters, with the parameter specs each one takes. The search
// network mixes them (mixed_op.h); the evaluation network keeps one per edge.
#pragma once
#include <torch/torch.h>

#include <array>
#include <string>
#include <vector>

#include "core/models/model.h"
#include "core/tensor_list.h"

namespace bilevel::core::models::darts {

enum class Operation { None, MaxPool3x3, AvgPool3x3, SkipConnect, SepConv3x3, SepConv5x5, DilConv3x3, DilConv5x5 };

// Every operation in the order of a row of alpha (DARTS's PRIMITIVES), so genotypes and alphas
// carry over between this library and DARTS's code.
inline constexpr std::array<Operation, 8> kOperations = {
    Operation::None,       Operation::MaxPool3x3, Operation::AvgPool3x3, Operation::SkipConnect,
    Operation::SepConv3x3, Operation::SepConv5x5, Operation::DilConv3x3, Operation::DilConv5x5,
};

// DARTS's name of op ("sep_conv_3x3"), and the operation of a name (INVALID_ARGUMENT naming the
// names when there is none).
const std::string& operationName(Operation op);
Operation operationNamed(const std::string& name);

// Hands out a model's parameters in layout order: each operation takes what its specs declared.
class ParameterCursor {
 public:
  explicit ParameterCursor(const TensorList& params, size_t start = 0) : params_(params), next_(start) {}
  const torch::Tensor& next() { return params_.at(next_++); }
  void skip(size_t count) { next_ += count; }
  size_t position() const { return next_; }

 private:
  const TensorList& params_;
  size_t next_;
};

// Where an operation sits: channels in and out, stride 1 or 2 (a reduction cell's edges from its
// inputs halve the image), and whether its batch norms scale and shift (the search network's do
// not: there the architecture weights alone scale an operation).
struct EdgeShape {
  int64_t channels;
  int64_t stride = 1;
  bool affine = true;
};

// The parameters of op on such an edge, named prefix.<part>.weight and so on; none for the pools,
// none, and the skip connection of stride 1. Refused (INVALID_ARGUMENT): channels < 1, a stride
// other than 1 or 2, and an odd channel count for the skip connection of stride 2 (its two halves).
std::vector<ParameterSpec> operationParameters(Operation op, const std::string& prefix, const EdgeShape& edge);
// op on input [B, channels, H, W], taking its parameters from params: [B, channels, H', W'] with
// H' = ceil(H / stride) (the convolutions and pools pad to keep it; the skip connection of stride 2
// takes even H and W, as DARTS's does).
torch::Tensor applyOperation(Operation op, const torch::Tensor& input, ParameterCursor& params, const EdgeShape& edge);

// ReLU -> conv kernel x kernel (no bias, padding (kernel - 1) / 2) -> batch norm: how a cell
// brings its inputs to its channel count (DARTS's ReLUConvBN), and the stem's pattern.
std::vector<ParameterSpec> reluConvNormParameters(const std::string& prefix, int64_t in, int64_t out, int64_t kernel, bool affine);
torch::Tensor reluConvNorm(const torch::Tensor& input, ParameterCursor& params, int64_t stride, bool affine);

// ReLU, then two 1 x 1 convolutions of stride 2, one on the image and one on it shifted by a
// pixel, each to out / 2 channels, concatenated -> batch norm: halves the image without discarding
// three pixels in four (DARTS's FactorizedReduce). out must be even.
std::vector<ParameterSpec> factorizedReduceParameters(const std::string& prefix, int64_t in, int64_t out, bool affine);
torch::Tensor factorizedReduce(const torch::Tensor& input, ParameterCursor& params, bool affine);

}  // namespace bilevel::core::models::darts

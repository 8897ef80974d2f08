// The pieces the DARTS search and evaluation networks share: the stem, and how a cell brings its
// two inputs to its own channel count.
#pragma once
#include <string>
#include <vector>

#include "core/models/darts/cell_shape.h"
#include "core/models/darts/operations.h"

namespace bilevel::core::models::darts {

// conv 3 x 3 (padding 1, no bias) from inChannels to `channels`, then batch norm with scale and shift.
std::vector<ParameterSpec> stemParameters(int64_t inChannels, int64_t channels);
torch::Tensor stem(const torch::Tensor& input, ParameterCursor& params);

// prefix.preprocess0 (a factorized reduction after a reduction cell, else ReLU -> conv 1 x 1 ->
// norm) and prefix.preprocess1 (ReLU -> conv 1 x 1 -> norm); norms affine or not.
std::vector<ParameterSpec> cellInputParameters(const std::string& prefix, const CellShape& shape, bool affine);
// The cell's inputs s0, s1 at its channel count and its inputs' common size: the states 0 and 1.
std::vector<torch::Tensor> cellInputs(const torch::Tensor& s0, const torch::Tensor& s1, ParameterCursor& params, const CellShape& shape,
                                      bool affine);

}  // namespace bilevel::core::models::darts

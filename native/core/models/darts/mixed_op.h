// An edge of the DARTS search network: every candidate operation at once, weighted by the
// softmax of the edge's row of alpha (DARTS's MixedOp, docs/algorithms.md §14).
#pragma once
#include <string>
#include <vector>

#include "core/models/darts/operations.h"

namespace bilevel::core::models::darts {

// The parameters of every operation of kOperations on an edge of channels and stride, in that
// order, each named prefix.<operation name>...; batch norms without affine parameters.
std::vector<ParameterSpec> mixedOpParameters(const std::string& prefix, int64_t channels, int64_t stride);
// sum over o of weights[o] * o(input), weights [kOperations.size()] (a softmax of alpha's row);
// the pools followed by a batch norm without affine parameters, as in DARTS's search network, so
// that their scale matches the convolutions'. none adds nothing and is skipped.
torch::Tensor mixedOp(const torch::Tensor& input, const torch::Tensor& weights, ParameterCursor& params, int64_t stride);

}  // namespace bilevel::core::models::darts

// A cell of the DARTS search network (DARTS's model_search.Cell): its two inputs brought to the
// cell's channels, then intermediate nodes that each sum a mixed edge from every earlier state.
#pragma once
#include <string>
#include <vector>

#include "core/models/darts/operations.h"

namespace bilevel::core::models::darts {

struct CellShape {
  int64_t previousPrevious;  // channels of the cell's first input (the output two cells back)
  int64_t previous;          // channels of its second input (the previous cell's output)
  int64_t channels;          // of each intermediate node
  bool reduction;            // the edges from the inputs have stride 2: the cell halves the image
  bool afterReduction;       // the first input is twice the second's size: a factorized reduction brings it down
  int64_t nodes;
  int64_t multiplier;        // the last nodes concatenated into the output: multiplier * channels channels
};

// prefix.preprocess0..., prefix.preprocess1..., then the mixed edges prefix.edgeE... in alpha's row
// order (cellEdges(nodes) of them); batch norms without affine parameters.
std::vector<ParameterSpec> searchCellParameters(const std::string& prefix, const CellShape& shape);
// The cell on inputs s0 [B, previousPrevious, H0, H0] and s1 [B, previous, H, H] with operation
// weights [cellEdges(nodes), kOperations.size()] (alpha's softmax): [B, multiplier * channels, H', H'].
torch::Tensor searchCell(const torch::Tensor& s0, const torch::Tensor& s1, const torch::Tensor& weights, ParameterCursor& params,
                         const CellShape& shape);

}  // namespace bilevel::core::models::darts

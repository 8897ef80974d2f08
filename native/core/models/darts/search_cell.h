// A cell of the DARTS search network (DARTS's model_search.Cell): its two inputs brought to the
// cell's channels, then intermediate nodes that each sum a mixed edge from every earlier state.
#pragma once
#include <string>
#include <vector>

#include "core/models/darts/cell_shape.h"
#include "core/models/darts/operations.h"

namespace bilevel::core::models::darts {

// prefix.preprocess0..., prefix.preprocess1..., then the mixed edges prefix.edgeE... in alpha's row
// order (cellEdges(nodes) of them); batch norms without affine parameters.
std::vector<ParameterSpec> searchCellParameters(const std::string& prefix, const CellShape& shape);
// The cell on inputs s0 [B, previousPrevious, H0, H0] and s1 [B, previous, H, H] with operation
// weights [cellEdges(nodes), kOperations.size()] (alpha's softmax): [B, multiplier * channels, H', H'].
torch::Tensor searchCell(const torch::Tensor& s0, const torch::Tensor& s1, const torch::Tensor& weights, ParameterCursor& params,
                         const CellShape& shape);

}  // namespace bilevel::core::models::darts

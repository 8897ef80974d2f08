#include "core/models/darts/genotype.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"

namespace bilevel::core::models::darts {
namespace {

constexpr size_t kNone = 0;  // none's column in a row of alpha (kOperations[0])

// The strongest operation other than none on a row of weights: its column (the earliest of equals).
size_t strongest(const std::vector<double>& row) {
  size_t best = kNone + 1;
  for (size_t k = best + 1; k < row.size(); ++k) {
    if (row[k] > row[best]) best = k;
  }
  return best;
}

}  // namespace

int64_t cellEdges(int64_t nodes) { return nodes * (nodes + 3) / 2; }

CellGenotype deriveCell(const torch::Tensor& alpha, int64_t nodes, int64_t multiplier) {
  if (nodes < 1 || multiplier < 1 || multiplier > nodes) {
    throw Error("INVALID_ARGUMENT", "deriveCell: nodes must be >= 1 and multiplier in 1..nodes; got nodes " + std::to_string(nodes) +
                                        ", multiplier " + std::to_string(multiplier));
  }
  const int64_t operations = static_cast<int64_t>(kOperations.size());
  if (alpha.dim() != 2 || alpha.size(0) != cellEdges(nodes) || alpha.size(1) != operations) {
    throw Error("SHAPE_MISMATCH", "alpha must be [" + std::to_string(cellEdges(nodes)) + ", " + std::to_string(operations) + "] for " +
                                      std::to_string(nodes) + " nodes; got " + c10::str(alpha.sizes()));
  }
  const torch::Tensor weights = torch::softmax(alpha.detach().to(torch::kCPU, torch::kFloat64), 1).contiguous();
  std::vector<std::vector<double>> rows(static_cast<size_t>(alpha.size(0)));
  for (size_t e = 0; e < rows.size(); ++e) {
    const double* row = weights[static_cast<int64_t>(e)].data_ptr<double>();
    rows[e].assign(row, row + operations);
  }
  CellGenotype cell;
  size_t first = 0;  // the row of the node's edge from state 0
  for (int64_t node = 0; node < nodes; ++node) {
    std::vector<size_t> inputs(static_cast<size_t>(node + 2));
    std::iota(inputs.begin(), inputs.end(), 0);
    const auto strength = [&](size_t input) { return rows[first + input][strongest(rows[first + input])]; };
    std::stable_sort(inputs.begin(), inputs.end(), [&](size_t a, size_t b) { return strength(a) > strength(b); });
    for (size_t kept = 0; kept < 2; ++kept) {
      const size_t input = inputs[kept];
      cell.edges.push_back({kOperations[strongest(rows[first + input])], static_cast<int64_t>(input)});
    }
    first += inputs.size();
  }
  for (int64_t state = 2 + nodes - multiplier; state < 2 + nodes; ++state) cell.concat.push_back(state);
  return cell;
}

Genotype deriveGenotype(const torch::Tensor& alphaNormal, const torch::Tensor& alphaReduce, int64_t nodes, int64_t multiplier) {
  return {deriveCell(alphaNormal, nodes, multiplier), deriveCell(alphaReduce, nodes, multiplier)};
}

}  // namespace bilevel::core::models::darts

#include "core/models/darts/genotype_cell.h"

#include "core/error.h"
#include "core/models/darts/network_parts.h"

namespace bilevel::core::models::darts {
namespace {

int64_t strideOf(const GenotypeEdge& edge, const CellShape& shape) { return shape.reduction && edge.input < 2 ? 2 : 1; }

torch::Tensor dropped(const torch::Tensor& x, const DropPath& dropPath) {
  const double keep = 1 - dropPath.probability;
  // Drawn on the CPU, where the generator is, so that a CUDA network takes the same masks.
  const torch::Tensor keepProbabilities = torch::full({dropPath.share.wholeRows(x.size(0)), 1, 1, 1}, keep, x.options().device(torch::kCPU));
  const torch::Tensor mask = dropPath.share.own(torch::bernoulli(keepProbabilities, *dropPath.generator)).to(x.device());
  return x / keep * mask;
}

}  // namespace

CellKind checkedCellKind(const CellGenotype& cell, const std::string& which) {
  const int64_t edges = static_cast<int64_t>(cell.edges.size());
  if (edges == 0 || edges % 2 != 0) {
    throw Error("INVALID_ARGUMENT", which + ": two edges per node are needed; got " + std::to_string(edges));
  }
  const int64_t nodes = edges / 2;
  for (int64_t e = 0; e < edges; ++e) {
    const int64_t input = cell.edges[static_cast<size_t>(e)].input;
    if (input < 0 || input >= 2 + e / 2) {
      throw Error("INVALID_ARGUMENT", which + ": edge " + std::to_string(e) + " of node " + std::to_string(e / 2) + " comes from state " +
                                          std::to_string(input) + "; states 0.." + std::to_string(1 + e / 2) + " come before it");
    }
  }
  if (cell.concat.empty()) throw Error("INVALID_ARGUMENT", which + "_concat: no states to concatenate");
  for (const int64_t state : cell.concat) {
    if (state < 0 || state >= 2 + nodes) {
      throw Error("INVALID_ARGUMENT", which + "_concat: state " + std::to_string(state) + " does not exist (0.." + std::to_string(1 + nodes) + ")");
    }
  }
  return {nodes, static_cast<int64_t>(cell.concat.size())};
}

std::vector<ParameterSpec> genotypeCellParameters(const std::string& prefix, const CellGenotype& cell, const CellShape& shape) {
  std::vector<ParameterSpec> specs = cellInputParameters(prefix, shape, /*affine=*/true);
  for (size_t e = 0; e < cell.edges.size(); ++e) {
    const GenotypeEdge& edge = cell.edges[e];
    appendSpecs(specs, operationParameters(edge.operation, prefix + ".edge" + std::to_string(e), {shape.channels, strideOf(edge, shape), true}));
  }
  return specs;
}

torch::Tensor genotypeCell(const torch::Tensor& s0, const torch::Tensor& s1, ParameterCursor& params, const CellGenotype& cell,
                           const CellShape& shape, const DropPath& dropPath) {
  std::vector<torch::Tensor> states = cellInputs(s0, s1, params, shape, /*affine=*/true);
  for (size_t node = 0; node < cell.edges.size() / 2; ++node) {
    torch::Tensor sum;
    for (const GenotypeEdge& edge : {cell.edges[2 * node], cell.edges[2 * node + 1]}) {
      const int64_t stride = strideOf(edge, shape);
      torch::Tensor out = applyOperation(edge.operation, states[static_cast<size_t>(edge.input)], params, {shape.channels, stride, true});
      const bool identity = edge.operation == Operation::SkipConnect && stride == 1;
      if (dropPath.probability > 0 && !identity) out = dropped(out, dropPath);
      sum = sum.defined() ? sum + out : out;
    }
    states.push_back(sum);
  }
  std::vector<torch::Tensor> concatenated;
  for (const int64_t state : cell.concat) concatenated.push_back(states[static_cast<size_t>(state)]);
  return torch::cat(concatenated, 1);
}

}  // namespace bilevel::core::models::darts

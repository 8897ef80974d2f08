// A discrete architecture of the DARTS space (DARTS's Genotype) and its derivation from the
// architecture weights alpha by DARTS's rule (docs/algorithms.md §14).
#pragma once
#include <torch/torch.h>

#include <vector>

#include "core/models/darts/operations.h"

namespace bilevel::core::models::darts {

// One input of an intermediate node: the operation applied to state `input` (0 and 1 the cell's
// two inputs, 2 + i its intermediate node i).
struct GenotypeEdge {
  Operation operation;
  int64_t input;
  bool operator==(const GenotypeEdge& other) const { return operation == other.operation && input == other.input; }
};

// Two edges per intermediate node, node after node, and the states whose concatenation is the
// cell's output.
struct CellGenotype {
  std::vector<GenotypeEdge> edges;
  std::vector<int64_t> concat;
};

struct Genotype {
  CellGenotype normal;
  CellGenotype reduce;
};

// The mixed edges of a search cell with `nodes` intermediate nodes: node i has one from each of
// the 2 + i states before it (14 for DARTS's 4 nodes). Rows of alpha follow this order.
int64_t cellEdges(int64_t nodes);

// DARTS's rule on a cell's alpha [cellEdges(nodes), kOperations.size()]: with each row's softmax,
// each node keeps the two incoming edges whose strongest operation other than none weighs most,
// each with that operation; ties go to the lower edge and the earlier operation, as DARTS's stable
// sort and strict comparison give them. The output concatenates the last `multiplier` nodes.
// Refused: nodes < 1, multiplier outside 1..nodes (INVALID_ARGUMENT), alpha of another shape
// (SHAPE_MISMATCH).
CellGenotype deriveCell(const torch::Tensor& alpha, int64_t nodes, int64_t multiplier);
Genotype deriveGenotype(const torch::Tensor& alphaNormal, const torch::Tensor& alphaReduce, int64_t nodes = 4, int64_t multiplier = 4);

}  // namespace bilevel::core::models::darts

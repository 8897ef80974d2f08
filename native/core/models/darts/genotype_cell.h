// A cell of the DARTS evaluation network, built from a genotype (DARTS's model.Cell): each node
// sums the operations of its two genotype edges, with drop path while training.
#pragma once
#include <ATen/core/Generator.h>

#include <string>
#include <vector>

#include "core/data/batch.h"
#include "core/models/darts/cell_shape.h"
#include "core/models/darts/genotype.h"

namespace bilevel::core::models::darts {

// While training, the output of every edge other than an identity is zeroed, per image, with
// this probability, and otherwise divided by 1 - probability (DARTS's drop_path). Off at 0.
struct DropPath {
  double probability = 0;
  at::Generator* generator = nullptr;  // draws the masks; required when probability > 0
  RowShare share;                      // the images' rows of their batch: masks are drawn for all of it
};

// The nodes (two edges each) and concatenated states of a cell genotype. Refused
// (INVALID_ARGUMENT, naming `which`, e.g. "genotype.normal"): no edges or an odd count, an edge
// from a state that is not before its node, a concatenated state that does not exist.
CellKind checkedCellKind(const CellGenotype& cell, const std::string& which);

// prefix.preprocess0, prefix.preprocess1 (norms with scale and shift), then each genotype edge's
// operation as prefix.edgeE...
std::vector<ParameterSpec> genotypeCellParameters(const std::string& prefix, const CellGenotype& cell, const CellShape& shape);
// [B, concat.size() * channels, H', H'].
torch::Tensor genotypeCell(const torch::Tensor& s0, const torch::Tensor& s1, ParameterCursor& params, const CellGenotype& cell,
                           const CellShape& shape, const DropPath& dropPath);

}  // namespace bilevel::core::models::darts

// The DARTS search network (DARTS's model_search.Network): a stem, a stack of search cells with
// reduction cells at a third and two thirds of the depth, global average pooling and a linear
// classifier; every edge mixes all operations by the architecture weights (docs/algorithms.md §14.4).
#pragma once
#include <memory>

#include "core/models/model.h"

namespace bilevel::core::models::darts {

struct SearchNetworkOptions {
  int64_t inChannels = 3;
  int64_t imageSize = 32;
  int64_t classes = 10;
  int64_t channels = 16;       // C of the first cells, doubled at each reduction cell
  int64_t cells = 8;           // reduction cells at cells / 3 and 2 * cells / 3
  int64_t nodes = 4;           // intermediate nodes per cell
  int64_t multiplier = 4;      // the last nodes concatenated into a cell's output
  int64_t stemMultiplier = 3;  // the stem's channels: stemMultiplier * channels
};

// A Model whose parameters are the network's weights, then the architecture weights alpha.normal
// and alpha.reduce, each [cellEdges(nodes), kOperations.size()] (Zeros: every operation alike), so
// that a task passes (y, x) = (weights, alphas) as one list. The stem is conv 3 x 3 (no bias) ->
// batch norm with affine parameters; the cells' norms have none; the classifier has a bias.
class SearchNetwork : public Model {
 public:
  explicit SearchNetwork(const SearchNetworkOptions& options);
  // How many of the parameters are weights (the rest are the two alphas).
  int64_t weightCount() const { return static_cast<int64_t>(layout().size()) - 2; }
  // Whether cell i is a reduction cell.
  bool isReduction(int64_t cell) const;
  const SearchNetworkOptions& options() const { return options_; }

 protected:
  torch::Tensor run(const TensorList& params, const torch::Tensor& input) const override;

 private:
  SearchNetworkOptions options_;
};

// Refused (INVALID_ARGUMENT): a count below 1, multiplier above nodes, an imageSize that the
// reduction cells cannot halve (each needs even sides: its factorized reductions take pixel pairs).
std::shared_ptr<const SearchNetwork> searchNetwork(const SearchNetworkOptions& options);

}  // namespace bilevel::core::models::darts

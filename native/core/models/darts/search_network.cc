#include "core/models/darts/search_network.h"

#include "core/error.h"
#include "core/models/darts/genotype.h"
#include "core/models/darts/network_parts.h"
#include "core/models/darts/search_cell.h"
#include "core/models/layers.h"

namespace bilevel::core::models::darts {
namespace {

std::vector<CellShape> cellShapesOf(const SearchNetworkOptions& o) {
  const CellKind kind{o.nodes, o.multiplier};
  return cellShapes(o.channels, o.cells, o.stemMultiplier, kind, kind);
}

std::vector<ParameterSpec> layoutOf(const SearchNetworkOptions& o) {
  std::vector<ParameterSpec> specs = stemParameters(o.inChannels, o.stemMultiplier * o.channels);
  const std::vector<CellShape> shapes = cellShapesOf(o);
  for (size_t cell = 0; cell < shapes.size(); ++cell) appendSpecs(specs, searchCellParameters("cell" + std::to_string(cell), shapes[cell]));
  appendSpecs(specs, linearParameters("classifier", shapes.back().outputChannels(), o.classes, Init::LinearDefault));
  const std::vector<int64_t> alpha = {cellEdges(o.nodes), static_cast<int64_t>(kOperations.size())};
  specs.push_back({"alpha.normal", alpha, Init::Zeros, 0});
  specs.push_back({"alpha.reduce", alpha, Init::Zeros, 0});
  return specs;
}

void check(const SearchNetworkOptions& o) {
  if (o.inChannels < 1 || o.classes < 1 || o.channels < 1 || o.cells < 1 || o.nodes < 1 || o.stemMultiplier < 1) {
    throw Error("INVALID_ARGUMENT", "searchNetwork: inChannels, classes, channels, cells, nodes and stemMultiplier must be >= 1");
  }
  if (o.multiplier < 1 || o.multiplier > o.nodes) {
    throw Error("INVALID_ARGUMENT", "searchNetwork: multiplier must be in 1..nodes (" + std::to_string(o.nodes) + "); got " +
                                        std::to_string(o.multiplier));
  }
  checkHalvings("searchNetwork", o.imageSize, o.cells);
}

}  // namespace

SearchNetwork::SearchNetwork(const SearchNetworkOptions& options)
    : Model(layoutOf(options), {options.inChannels, options.imageSize, options.imageSize}), options_(options) {}

bool SearchNetwork::isReduction(int64_t cell) const { return isReductionCell(options_.cells, cell); }

torch::Tensor SearchNetwork::run(const TensorList& params, const torch::Tensor& input) const {
  ParameterCursor cursor(params);
  torch::Tensor s1 = stem(input, cursor);
  torch::Tensor s0 = s1;
  const torch::Tensor normal = torch::softmax(params[params.size() - 2], 1);
  const torch::Tensor reduce = torch::softmax(params.back(), 1);
  for (const CellShape& shape : cellShapesOf(options_)) {
    torch::Tensor out = searchCell(s0, s1, shape.reduction ? reduce : normal, cursor, shape);
    s0 = std::move(s1);
    s1 = std::move(out);
  }
  const torch::Tensor pooled = s1.mean({2, 3});
  const torch::Tensor& classifierWeight = cursor.next();
  return linearLayer(pooled, classifierWeight, cursor.next());
}

std::shared_ptr<const SearchNetwork> searchNetwork(const SearchNetworkOptions& options) {
  check(options);
  return std::make_shared<SearchNetwork>(options);
}

}  // namespace bilevel::core::models::darts

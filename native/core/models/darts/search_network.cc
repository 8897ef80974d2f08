#include "core/models/darts/search_network.h"

#include "core/error.h"
#include "core/models/darts/genotype.h"
#include "core/models/darts/search_cell.h"
#include "core/models/layers.h"

namespace bilevel::core::models::darts {
namespace {

void append(std::vector<ParameterSpec>& specs, std::vector<ParameterSpec> more) { specs.insert(specs.end(), more.begin(), more.end()); }

bool reductionAt(const SearchNetworkOptions& o, int64_t cell) { return cell == o.cells / 3 || cell == 2 * o.cells / 3; }

// Each cell's shape in order, as DARTS's Network.__init__ threads the channel counts through.
std::vector<CellShape> cellShapes(const SearchNetworkOptions& o) {
  std::vector<CellShape> shapes;
  int64_t previousPrevious = o.stemMultiplier * o.channels, previous = previousPrevious, channels = o.channels;
  bool afterReduction = false;
  for (int64_t cell = 0; cell < o.cells; ++cell) {
    const bool reduction = reductionAt(o, cell);
    if (reduction) channels *= 2;
    shapes.push_back({previousPrevious, previous, channels, reduction, afterReduction, o.nodes, o.multiplier});
    afterReduction = reduction;
    previousPrevious = previous;
    previous = o.multiplier * channels;
  }
  return shapes;
}

std::vector<ParameterSpec> layoutOf(const SearchNetworkOptions& o) {
  const int64_t stem = o.stemMultiplier * o.channels;
  std::vector<ParameterSpec> specs = conv2dParameters("stem.conv", o.inChannels, stem, 3, false);
  append(specs, batchNormParameters("stem.norm", stem));
  const std::vector<CellShape> shapes = cellShapes(o);
  for (size_t cell = 0; cell < shapes.size(); ++cell) append(specs, searchCellParameters("cell" + std::to_string(cell), shapes[cell]));
  append(specs, linearParameters("classifier", shapes.back().multiplier * shapes.back().channels, o.classes, Init::LinearDefault));
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
  int64_t side = o.imageSize;
  for (int64_t cell = 0; cell < o.cells; ++cell) {
    if (!reductionAt(o, cell)) continue;
    if (side < 2 || side % 2 != 0) {
      throw Error("INVALID_ARGUMENT", "searchNetwork: imageSize " + std::to_string(o.imageSize) + " cannot be halved at every reduction cell "
                                          "(even sides needed; cell " + std::to_string(cell) + " gets " + std::to_string(side) + ")");
    }
    side /= 2;
  }
}

}  // namespace

SearchNetwork::SearchNetwork(const SearchNetworkOptions& options)
    : Model(layoutOf(options), {options.inChannels, options.imageSize, options.imageSize}), options_(options) {}

bool SearchNetwork::isReduction(int64_t cell) const { return reductionAt(options_, cell); }

torch::Tensor SearchNetwork::run(const TensorList& params, const torch::Tensor& input) const {
  ParameterCursor cursor(params);
  const torch::Tensor& stemWeight = cursor.next();
  const torch::Tensor convolved = conv2d(input, stemWeight, torch::Tensor(), {/*stride=*/1, /*padding=*/1});
  const torch::Tensor& normWeight = cursor.next();
  torch::Tensor s1 = batchNorm(convolved, normWeight, cursor.next());
  torch::Tensor s0 = s1;
  const torch::Tensor normal = torch::softmax(params[params.size() - 2], 1);
  const torch::Tensor reduce = torch::softmax(params.back(), 1);
  for (const CellShape& shape : cellShapes(options_)) {
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

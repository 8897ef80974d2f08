#include "core/models/darts/evaluation_network.h"

#include "core/error.h"
#include "core/models/darts/network_parts.h"
#include "core/models/layers.h"

namespace bilevel::core::models::darts {
namespace {

constexpr int64_t kAuxiliaryHidden = 128, kAuxiliaryFeatures = 768;

int64_t auxiliaryCell(const EvaluationNetworkOptions& o) { return 2 * o.cells / 3; }

std::vector<CellShape> cellShapesOf(const Genotype& genotype, const EvaluationNetworkOptions& o) {
  return cellShapes(o.channels, o.cells, o.stemMultiplier, checkedCellKind(genotype.normal, "genotype.normal"),
                    checkedCellKind(genotype.reduce, "genotype.reduce"));
}

// The image's side where the auxiliary head reads it: halved by every reduction cell up to it.
int64_t auxiliarySide(const EvaluationNetworkOptions& o) {
  int64_t side = o.imageSize;
  for (int64_t cell = 0; cell <= auxiliaryCell(o); ++cell) side /= isReductionCell(o.cells, cell) ? 2 : 1;
  return side;
}

// The auxiliary head's pooled-and-convolved side: 5 x 5 pooling of stride 3, then a 2 x 2 convolution.
int64_t auxiliaryOutputSide(const EvaluationNetworkOptions& o) { return (auxiliarySide(o) - 5) / 3 + 1 - 1; }

std::vector<ParameterSpec> auxiliaryParameters(int64_t channels, const EvaluationNetworkOptions& o) {
  std::vector<ParameterSpec> specs = conv2dParameters("auxiliary.conv1", channels, kAuxiliaryHidden, 1, false);
  appendSpecs(specs, batchNormParameters("auxiliary.norm1", kAuxiliaryHidden));
  appendSpecs(specs, conv2dParameters("auxiliary.conv2", kAuxiliaryHidden, kAuxiliaryFeatures, 2, false));
  appendSpecs(specs, batchNormParameters("auxiliary.norm2", kAuxiliaryFeatures));
  const int64_t side = auxiliaryOutputSide(o);
  appendSpecs(specs, linearParameters("auxiliary.classifier", kAuxiliaryFeatures * side * side, o.classes, Init::LinearDefault));
  return specs;
}

// ReLU -> 5 x 5 average pooling of stride 3 -> conv 1 x 1 -> norm -> ReLU -> conv 2 x 2 -> norm -> ReLU -> linear.
torch::Tensor auxiliaryHead(const torch::Tensor& input, ParameterCursor& params) {
  torch::Tensor x = avgPool2d(torch::relu(input), 5, 3, 0, /*countPadding=*/false);
  for (int block = 0; block < 2; ++block) {
    const torch::Tensor& conv = params.next();
    const torch::Tensor& normWeight = params.next();
    x = torch::relu(batchNorm(conv2d(x, conv, torch::Tensor()), normWeight, params.next()));
  }
  const torch::Tensor& weight = params.next();
  return linearLayer(x.flatten(1), weight, params.next());
}

std::vector<ParameterSpec> layoutOf(const Genotype& genotype, const EvaluationNetworkOptions& o) {
  std::vector<ParameterSpec> specs = stemParameters(o.inChannels, o.stemMultiplier * o.channels);
  const std::vector<CellShape> shapes = cellShapesOf(genotype, o);
  for (size_t cell = 0; cell < shapes.size(); ++cell) {
    const CellGenotype& kind = shapes[cell].reduction ? genotype.reduce : genotype.normal;
    appendSpecs(specs, genotypeCellParameters("cell" + std::to_string(cell), kind, shapes[cell]));
    // The head right after the cell it reads, where the forward takes its parameters.
    if (o.auxiliary && static_cast<int64_t>(cell) == auxiliaryCell(o)) appendSpecs(specs, auxiliaryParameters(shapes[cell].outputChannels(), o));
  }
  appendSpecs(specs, linearParameters("classifier", shapes.back().outputChannels(), o.classes, Init::LinearDefault));
  return specs;
}

void check(const Genotype& genotype, const EvaluationNetworkOptions& o) {
  checkedCellKind(genotype.normal, "genotype.normal");
  checkedCellKind(genotype.reduce, "genotype.reduce");
  if (o.inChannels < 1 || o.classes < 1 || o.channels < 1 || o.cells < 1 || o.stemMultiplier < 1) {
    throw Error("INVALID_ARGUMENT", "evaluationNetwork: inChannels, classes, channels, cells and stemMultiplier must be >= 1");
  }
  checkHalvings("evaluationNetwork", o.imageSize, o.cells);
  if (o.auxiliary && auxiliarySide(o) < 8) {
    throw Error("INVALID_ARGUMENT", "evaluationNetwork: the auxiliary head needs images of at least 8 x 8 after cell " +
                                        std::to_string(auxiliaryCell(o)) + "; they are " + std::to_string(auxiliarySide(o)) +
                                        " (a larger imageSize, or auxiliary off)");
  }
}

}  // namespace

EvaluationNetwork::EvaluationNetwork(const Genotype& genotype, const EvaluationNetworkOptions& options)
    : Model(layoutOf(genotype, options), {options.inChannels, options.imageSize, options.imageSize}), genotype_(genotype), options_(options) {}

EvaluationNetwork::TrainingOutputs EvaluationNetwork::forwardTraining(const TensorList& params, const torch::Tensor& input,
                                                                      const DropPath& dropPath) const {
  check(params, input);
  if (dropPath.probability < 0 || dropPath.probability >= 1 || (dropPath.probability > 0 && dropPath.generator == nullptr)) {
    throw Error("INVALID_ARGUMENT", "dropPath: probability must be in [0, 1) with a generator when above 0");
  }
  return outputs(params, input, dropPath, options_.auxiliary);
}

torch::Tensor EvaluationNetwork::run(const TensorList& params, const torch::Tensor& input) const {
  return outputs(params, input, DropPath{}, false).logits;
}

EvaluationNetwork::TrainingOutputs EvaluationNetwork::outputs(const TensorList& params, const torch::Tensor& input, const DropPath& dropPath,
                                                              bool withAuxiliary) const {
  ParameterCursor cursor(params);
  torch::Tensor s1 = stem(input, cursor);
  torch::Tensor s0 = s1;
  TrainingOutputs out;
  const std::vector<CellShape> shapes = cellShapesOf(genotype_, options_);
  for (size_t cell = 0; cell < shapes.size(); ++cell) {
    const CellGenotype& kind = shapes[cell].reduction ? genotype_.reduce : genotype_.normal;
    torch::Tensor next = genotypeCell(s0, s1, cursor, kind, shapes[cell], dropPath);
    s0 = std::move(s1);
    s1 = std::move(next);
    if (options_.auxiliary && static_cast<int64_t>(cell) == auxiliaryCell(options_)) {
      // The head's parameters sit here in the layout, used or not.
      if (withAuxiliary) out.auxiliaryLogits = auxiliaryHead(s1, cursor);
      else cursor.skip(auxiliaryParameters(1, options_).size());
    }
  }
  const torch::Tensor& weight = cursor.next();
  out.logits = linearLayer(s1.mean({2, 3}), weight, cursor.next());
  return out;
}

int64_t EvaluationNetwork::parameterCountWithoutAuxiliary() const {
  int64_t count = 0;
  for (const ParameterSpec& spec : layout()) {
    if (spec.name.rfind("auxiliary.", 0) == 0) continue;
    int64_t n = 1;
    for (const int64_t d : spec.shape) n *= d;
    count += n;
  }
  return count;
}

std::shared_ptr<const EvaluationNetwork> evaluationNetwork(const Genotype& genotype, const EvaluationNetworkOptions& options) {
  check(genotype, options);
  return std::make_shared<EvaluationNetwork>(genotype, options);
}

}  // namespace bilevel::core::models::darts

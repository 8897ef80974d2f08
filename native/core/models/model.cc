#include "core/models/model.h"

#include <cmath>

#include "core/error.h"

namespace bilevel::core::models {
namespace {

std::string shapeOf(const torch::Tensor& t) { return t.defined() ? c10::str(t.sizes()) : std::string("none"); }

torch::Tensor initialValue(const ParameterSpec& spec, at::Generator& gen, const torch::TensorOptions& options) {
  switch (spec.init) {
    case Init::Zeros:
      return torch::zeros(spec.shape, options);
    case Init::Ones:
      return torch::ones(spec.shape, options);
    case Init::LinearDefault: {
      const double bound = 1.0 / std::sqrt(static_cast<double>(spec.fanIn));
      return torch::rand(spec.shape, gen, torch::kFloat64).mul(2 * bound).sub(bound).to(options);
    }
  }
  throw Error("INVALID_ARGUMENT", "parameter " + spec.name + ": unknown Init");
}

// A parameter of the spec's shape and the input's dtype and device.
void checkParameter(const ParameterSpec& spec, const torch::Tensor& p, const torch::Tensor& input) {
  if (!p.defined() || p.sizes() != c10::IntArrayRef(spec.shape)) {
    throw Error("SHAPE_MISMATCH", "parameter " + spec.name + " must be " + c10::str(c10::IntArrayRef(spec.shape)) + "; got " + shapeOf(p));
  }
  if (p.scalar_type() != input.scalar_type()) {
    throw Error("DTYPE", "parameter " + spec.name + " is " + c10::toString(p.scalar_type()) + ", the input " +
                             c10::toString(input.scalar_type()));
  }
  if (p.device() != input.device()) {
    throw Error("DEVICE", "parameter " + spec.name + " is on " + p.device().str() + ", the input on " + input.device().str());
  }
}

}  // namespace

Model::Model(std::vector<ParameterSpec> layout, std::vector<int64_t> inputShape)
    : layout_(std::move(layout)), inputShape_(std::move(inputShape)) {}

TensorList Model::initialize(at::Generator& gen, const torch::TensorOptions& options) const {
  TensorList params;
  params.reserve(layout_.size());
  for (const ParameterSpec& spec : layout_) params.push_back(initialValue(spec, gen, options));
  return params;
}

torch::Tensor Model::forward(const TensorList& params, const torch::Tensor& input) const {
  check(params, input);
  return run(params, input);
}

void Model::check(const TensorList& params, const torch::Tensor& input) const {
  const auto expectedInput = c10::IntArrayRef(inputShape_);
  if (!input.defined() || input.dim() != 1 + static_cast<int64_t>(inputShape_.size()) || input.sizes().slice(1) != expectedInput) {
    throw Error("SHAPE_MISMATCH", "input must be [batch, " + c10::str(expectedInput).substr(1) + "; got " + shapeOf(input));
  }
  if (params.size() != layout_.size()) {
    throw Error("SHAPE_MISMATCH", "the model takes " + std::to_string(layout_.size()) + " parameters; got " +
                                      std::to_string(params.size()));
  }
  for (size_t i = 0; i < params.size(); ++i) checkParameter(layout_[i], params[i], input);
}

}  // namespace bilevel::core::models

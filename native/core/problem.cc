#include "core/problem.h"

#include "core/error.h"

namespace bilevel::core {
namespace {

std::string shapeOf(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? "," : "") + std::to_string(t.size(i));
  return s + "]";
}

torch::Tensor checkedScalar(const torch::Tensor& value, const char* which) {
  if (!value.defined()) throw Error("INVALID_ARGUMENT", std::string(which) + " objective returned no tensor");
  if (value.numel() != 1) {
    throw Error("SHAPE_MISMATCH", std::string(which) + " objective must return a scalar, got shape " + shapeOf(value));
  }
  return value.reshape({});
}

void checkVariables(const Variables& v, const char* which, bool mayBeEmpty) {
  if (v.initial.empty() && !mayBeEmpty) throw Error("INVALID_ARGUMENT", std::string(which) + ": at least one variable is needed");
  if (!v.sets.empty() && v.sets.size() != v.initial.size()) {
    throw Error("INVALID_ARGUMENT", std::string(which) + ": " + std::to_string(v.sets.size()) + " sets for " +
                                        std::to_string(v.initial.size()) + " variables");
  }
  for (size_t i = 0; i < v.initial.size(); ++i) {
    if (!v.initial[i].is_floating_point()) {
      throw Error("DTYPE", std::string(which) + "[" + std::to_string(i) + "] must be floating point");
    }
  }
  checkBoxes(v.initial, v.sets, std::string(which) + " sets");
}

// True when bound broadcasts to shape without enlarging it.
bool broadcastsInto(const torch::Tensor& bound, c10::IntArrayRef shape) {
  if (bound.dim() > static_cast<int64_t>(shape.size())) return false;
  for (int64_t i = 1; i <= bound.dim(); ++i) {
    const int64_t size = bound.size(-i);
    if (size != 1 && size != shape[shape.size() - i]) return false;
  }
  return true;
}

}  // namespace

torch::Tensor Box::project(const torch::Tensor& v) const {
  if (!bounded()) return v;
  // Bounds follow the variable's dtype and device so the projection never promotes it.
  auto like = [&](const torch::Tensor& bound) -> c10::optional<torch::Tensor> {
    if (!bound.defined()) return c10::nullopt;
    if (bound.scalar_type() == v.scalar_type() && bound.device() == v.device()) return bound;
    return bound.to(v.options().requires_grad(false));
  };
  return torch::clamp(v, like(lower), like(upper));
}

void checkBoxes(const TensorList& values, const std::vector<Box>& sets, const std::string& what) {
  for (size_t i = 0; i < sets.size() && i < values.size(); ++i) {
    for (const auto& [bound, name] : {std::pair(sets[i].lower, "min"), std::pair(sets[i].upper, "max")}) {
      if (bound.defined() && !broadcastsInto(bound, values[i].sizes())) {
        throw Error("SHAPE_MISMATCH", what + "[" + std::to_string(i) + "]." + name + " has shape " + shapeOf(bound) +
                                          ", which does not broadcast to the variable's shape " + shapeOf(values[i]));
      }
    }
  }
}

TensorList conformed(const TensorList& values, const TensorList& like, const std::string& what) {
  if (values.size() != like.size()) {
    throw Error("SHAPE_MISMATCH", what + ": " + std::to_string(values.size()) + " tensors for " + std::to_string(like.size()) +
                                      " variables");
  }
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string at = what + "[" + std::to_string(i) + "]";
    if (!values[i].defined()) throw Error("INVALID_ARGUMENT", at + " is undefined");
    if (values[i].sizes() != like[i].sizes()) {
      throw Error("SHAPE_MISMATCH", at + " has shape " + shapeOf(values[i]) + ", the variable has " + shapeOf(like[i]));
    }
    if (!values[i].is_floating_point()) {
      throw Error("DTYPE", at + " is " + std::string(c10::toString(values[i].scalar_type())) + ", not floating point");
    }
  }
  TensorList out;
  for (size_t i = 0; i < values.size(); ++i) out.push_back(values[i].to(like[i].options().requires_grad(false)));
  return out;
}

int64_t Problem::dataBytes() const {
  int64_t total = 0;
  for (const auto& [name, tensor] : data()) total += static_cast<int64_t>(tensor.nbytes());
  return total;
}

int64_t Problem::bytes() const {
  int64_t total = dataBytes();
  for (const auto* list : {&upper_.initial, &lower_.initial}) {
    for (const auto& tensor : *list) total += static_cast<int64_t>(tensor.nbytes());
  }
  return total;
}

std::vector<std::pair<std::string, double>> Problem::metrics(const TensorList& x, const TensorList& y,
                                                             const NumberSettings& settings) {
  return taskMetricsWith(conformed(x, upper_.initial, "x"), conformed(y, lower_.initial, "y"), settings);
}

std::vector<std::pair<std::string, torch::Tensor>> Problem::views(const TensorList& x, const TensorList& y) {
  return taskViews(conformed(x, upper_.initial, "x"), conformed(y, lower_.initial, "y"));
}

TensorList project(const TensorList& values, const std::vector<Box>& sets) {
  TensorList out = values;
  for (size_t i = 0; i < sets.size() && i < out.size(); ++i) out[i] = sets[i].project(out[i]);
  return out;
}

Problem::Problem(Variables upper, Variables lower) : upper_(std::move(upper)), lower_(std::move(lower)) {
  checkVariables(upper_, "upper variables", /*mayBeEmpty=*/true);  // a training task has none (training_solver.h)
  checkVariables(lower_, "lower variables", false);
}

torch::Tensor Problem::upperObjective(const TensorList& x, const TensorList& y, const Batch& batch) {
  return checkedScalar(evaluateUpper(x, y, batch), "upper");
}

torch::Tensor Problem::lowerObjective(const TensorList& x, const TensorList& y, const Batch& batch) {
  return checkedScalar(evaluateLower(x, y, batch), "lower");
}

TensorList Problem::lowerGradient(const TensorList& x, const TensorList& y, const Batch& batch, bool createGraph) {
  return gradientInY(false, x, y, batch, createGraph);
}

TensorList Problem::upperGradient(const TensorList& x, const TensorList& y, const Batch& batch, bool createGraph) {
  return gradientInY(true, x, y, batch, createGraph);
}

TensorList Problem::gradientInY(bool upper, const TensorList& x, const TensorList& y, const Batch& batch, bool createGraph) {
  torch::AutoGradMode enable(true);
  // A y that is not yet part of a graph (a fixed y_0) becomes a leaf so autograd can reach it.
  TensorList inputs;
  inputs.reserve(y.size());
  for (const auto& t : y) inputs.push_back(createGraph && t.requires_grad() ? t : t.detach().requires_grad_(true));
  const TensorList& xs = createGraph ? x : detached(x);
  torch::Tensor value = upper ? upperObjective(xs, inputs, batch) : lowerObjective(xs, inputs, batch);
  TensorList grads = gradients(value, inputs, createGraph, createGraph);
  return createGraph ? grads : detached(grads);
}

}  // namespace bilevel::core

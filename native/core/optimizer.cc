#include "core/optimizer.h"

#include <cmath>
#include <limits>

#include "core/error.h"

namespace bilevel::core {

const OptionMembers<OptimizerOptions>& optimizerMembers() {
  using O = OptimizerOptions;
  static const OptionMembers<O> members = {
      {"sgd", O::Kind::Sgd, {{"lr", &O::lr, 0.01, positive()}}},
      {"momentum", O::Kind::Momentum, {{"lr", &O::lr, 0.01, positive()}, {"momentum", &O::momentum, 0.9, unitInterval()}}},
      {"adam", O::Kind::Adam,
       {{"lr", &O::lr, 0.001, positive()},
        {"beta1", &O::beta1, 0.9, unitInterval()},
        {"beta2", &O::beta2, 0.999, unitInterval()},
        {"eps", &O::eps, 1e-8, positive()},
        {"weightDecay", &O::weightDecay, 0.0, nonNegative()}}},
  };
  return members;
}

Optimizer::Optimizer(OptimizerOptions options) : options_(options) {
  if (!(options_.lr > 0)) throw Error("INVALID_ARGUMENT", "optimizer lr must be > 0");
  if (!(options_.momentum >= 0 && options_.momentum < 1)) throw Error("INVALID_ARGUMENT", "momentum must be in [0, 1)");
  if (!(options_.beta1 >= 0 && options_.beta1 < 1) || !(options_.beta2 >= 0 && options_.beta2 < 1)) {
    throw Error("INVALID_ARGUMENT", "adam betas must be in [0, 1)");
  }
  if (!(options_.eps > 0)) throw Error("INVALID_ARGUMENT", "adam eps must be > 0");
  if (!(options_.weightDecay >= 0)) throw Error("INVALID_ARGUMENT", "adam weightDecay must be >= 0");
}

TensorList Optimizer::step(const TensorList& params, const TensorList& grads, const std::vector<Box>& sets) {
  torch::NoGradGuard noGrad;
  // Element updates below make new tensors, so the committed state's are never changed.
  State& s = pending_;
  s = state_;
  ++s.steps;
  if (s.first.empty()) {
    s.first = zerosLike(grads);
    s.second = zerosLike(grads);
  }
  TensorList next;
  next.reserve(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const torch::Tensor p = params[i].detach();
    const torch::Tensor& gradient = grads[i];
    switch (options_.kind) {
      case OptimizerOptions::Kind::Sgd:
        next.push_back(p - options_.lr * gradient);
        break;
      case OptimizerOptions::Kind::Momentum:
        s.first[i] = options_.momentum * s.first[i] + gradient;
        next.push_back(p - options_.lr * s.first[i]);
        break;
      case OptimizerOptions::Kind::Adam: {
        const torch::Tensor g = options_.weightDecay == 0.0 ? gradient : gradient + options_.weightDecay * p;
        s.first[i] = options_.beta1 * s.first[i] + (1 - options_.beta1) * g;
        s.second[i] = options_.beta2 * s.second[i] + (1 - options_.beta2) * g * g;
        const double c1 = 1 - std::pow(options_.beta1, static_cast<double>(s.steps));
        const double c2 = 1 - std::pow(options_.beta2, static_cast<double>(s.steps));
        next.push_back(p - options_.lr * (s.first[i] / c1) / ((s.second[i] / c2).sqrt() + options_.eps));
        break;
      }
    }
  }
  return project(next, sets);
}

void Optimizer::save(StateWriter& writer, const std::string& prefix) const {
  writer.integer(prefix + ".kind", static_cast<int64_t>(options_.kind));
  writer.tensors(prefix + ".first", state_.first);
  writer.tensors(prefix + ".second", state_.second);
  writer.integer(prefix + ".steps", state_.steps);
}

Commit Optimizer::load(StateReader& reader, const std::string& prefix, const TensorList& params) {
  const auto kind = static_cast<OptimizerOptions::Kind>(
      reader.integer(prefix + ".kind", 0, static_cast<int64_t>(OptimizerOptions::Kind::Adam)));
  if (kind != options_.kind) {
    throw Error("INVALID_ARGUMENT", reader.path() + ": '" + prefix + "' is " + memberName(optimizerMembers(), kind) + " in the checkpoint, " +
                                        memberName(optimizerMembers(), options_.kind) + " in this solver");
  }
  TensorList first = reader.optionalTensors(prefix + ".first", params);
  TensorList second = reader.optionalTensors(prefix + ".second", params);
  const int64_t steps = reader.integer(prefix + ".steps", 0, std::numeric_limits<int64_t>::max());
  // The moments are made by the first step: none before it, both after it.
  if (first.empty() != (steps == 0) || second.empty() != (steps == 0)) {
    throw Error("INVALID_ARGUMENT", reader.path() + ": '" + prefix + "' holds moments that do not match its " +
                                        std::to_string(steps) + " steps");
  }
  return [this, first, second, steps] {
    state_ = State{first, second, steps};
    pending_ = state_;
  };
}

}  // namespace bilevel::core

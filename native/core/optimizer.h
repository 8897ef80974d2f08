// UL optimizers for x and z (sgd, heavy-ball momentum, Adam), each followed by the projection.
#pragma once
#include "core/checkpoint.h"
#include "core/option_fields.h"
#include "core/problem.h"

namespace bilevel::core {

struct OptimizerOptions {
  enum class Kind { Sgd, Momentum, Adam };
  Kind kind = Kind::Sgd;
  double lr = 0.01;
  double momentum = 0.9;  // momentum
  double beta1 = 0.9;     // adam
  double beta2 = 0.999;   // adam
  double eps = 1e-8;      // adam
  double weightDecay = 0.0;  // adam: added to the gradient as weightDecay * x (torch.optim.Adam's L2 term)
};

// sgd, momentum, adam and their fields (core/option_fields.h).
const OptionMembers<OptimizerOptions>& optimizerMembers();

class Optimizer {
 public:
  explicit Optimizer(OptimizerOptions options);
  // The updated, projected values of params (history-free); params are not modified. The
  // optimizer's own state (moments, step count) advances only at commit(), so an update the
  // solver refuses afterwards (NON_FINITE) leaves it as it was.
  TensorList step(const TensorList& params, const TensorList& grads, const std::vector<Box>& sets);
  void commit() { state_ = pending_; }
  // Moments and step count, so a resumed run continues exactly.
  void save(StateWriter& writer, const std::string& prefix) const;
  Commit load(StateReader& reader, const std::string& prefix, const TensorList& params);

 private:
  struct State {
    TensorList first;   // momentum buffer / Adam's first moment
    TensorList second;  // Adam's second moment
    int64_t steps = 0;
  };
  OptimizerOptions options_;
  State state_;    // after the last committed step
  State pending_;  // after the last step, until committed
};

}  // namespace bilevel::core

// UL optimizers for x and z (sgd, heavy-ball momentum, Adam), each followed by the projection.
#pragma once
#include "core/checkpoint.h"
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
};

class Optimizer {
 public:
  explicit Optimizer(OptimizerOptions options);
  // The updated, projected values of params (history-free); params are not modified.
  TensorList step(const TensorList& params, const TensorList& grads, const std::vector<Box>& sets);
  // Moments and step count, so a resumed run continues exactly.
  void save(StateWriter& writer, const std::string& prefix) const;
  Commit load(StateReader& reader, const std::string& prefix, const TensorList& params);

 private:
  OptimizerOptions options_;
  TensorList first_;   // momentum buffer / Adam's first moment
  TensorList second_;  // Adam's second moment
  int64_t steps_ = 0;
};

}  // namespace bilevel::core

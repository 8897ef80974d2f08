// The DARTS evaluation network (DARTS's NetworkCIFAR): a stem, cells built from a genotype with
// reductions at a third and two thirds of the depth, an optional auxiliary head after the second
// reduction, global pooling and a linear classifier (docs/algorithms.md §14.5).
#pragma once
#include <memory>

#include "core/models/darts/genotype.h"
#include "core/models/darts/genotype_cell.h"
#include "core/models/model.h"

namespace bilevel::core::models::darts {

struct EvaluationNetworkOptions {
  int64_t inChannels = 3;
  int64_t imageSize = 32;
  int64_t classes = 10;
  int64_t channels = 36;       // C of the first cells, doubled at each reduction cell
  int64_t cells = 20;          // reduction cells at cells / 3 and 2 * cells / 3
  int64_t stemMultiplier = 3;  // the stem's channels: stemMultiplier * channels
  bool auxiliary = true;       // the auxiliary classifier after cell 2 * cells / 3 (training only)
};

class EvaluationNetwork : public Model {
 public:
  EvaluationNetwork(const Genotype& genotype, const EvaluationNetworkOptions& options);

  struct TrainingOutputs {
    torch::Tensor logits;
    torch::Tensor auxiliaryLogits;  // undefined without the auxiliary head
  };
  // The training forward: drop path on the cells' edges and the auxiliary head's logits. forward
  // (Model's) is the evaluation forward: neither.
  TrainingOutputs forwardTraining(const TensorList& params, const torch::Tensor& input, const DropPath& dropPath) const;
  // The parameters outside the auxiliary head: what DARTS reports as the network's size.
  int64_t parameterCountWithoutAuxiliary() const;

 protected:
  torch::Tensor run(const TensorList& params, const torch::Tensor& input) const override;

 private:
  TrainingOutputs outputs(const TensorList& params, const torch::Tensor& input, const DropPath& dropPath, bool withAuxiliary) const;

  Genotype genotype_;
  EvaluationNetworkOptions options_;
};

// Refused (INVALID_ARGUMENT): a malformed genotype (checkedCellKind), a count below 1, an
// imageSize the reduction cells cannot halve, an auxiliary head on images smaller than 8 x 8 where
// it sits (its 5 x 5 pooling of stride 3 and 2 x 2 convolution need them).
std::shared_ptr<const EvaluationNetwork> evaluationNetwork(const Genotype& genotype, const EvaluationNetworkOptions& options);

}  // namespace bilevel::core::models::darts

// Running statistics for the functional batch norms (models/layers.h batchNorm), as
// torch.nn.BatchNorm2d keeps them (running_mean, running_var, momentum 0.1): what an evaluation
// network normalizes by at test time, where each image must get the same output whatever batch
// it comes in. A model's forward calls batchNorm in a fixed order, so the k-th call of a forward
// is its k-th batch norm; the statistics are kept per call index, in the caller's object.
#pragma once
#include <torch/torch.h>

#include <functional>

#include "core/tensor_list.h"

namespace bilevel::core::models {

struct BatchNormStatistics {
  TensorList means;      // per batch norm, [channels]; zeros before the first tracked forward
  TensorList variances;  // unbiased, as torch keeps them; ones before the first tracked forward
  double momentum = 0.1;
};

// How the batch norms inside a forward run while a BatchNormScope is alive on this thread.
enum class BatchNormMode {
  Track,    // normalize by the batch's statistics and fold them into the running ones (training)
  Running,  // normalize by the running statistics (evaluation); refused if they were never tracked
};

// For one forward run on this thread during its lifetime (RAII, like torch::NoGradGuard): its k-th
// batch norm call uses the k-th statistics; the first tracked forward creates them, and a forward
// with more batch norms than they hold is refused. Without a scope, batchNorm normalizes by the
// batch and keeps nothing. Scopes do not nest.
class BatchNormScope {
 public:
  BatchNormScope(BatchNormStatistics& statistics, BatchNormMode mode);
  ~BatchNormScope();
  BatchNormScope(const BatchNormScope&) = delete;
  BatchNormScope& operator=(const BatchNormScope&) = delete;
  // The batch norms run so far in this scope (a forward's count once it returns).
  int64_t calls() const;
};

// While alive on this thread, the batch a forward sees is one share of a batch split over
// processes (data-parallel solving, core/distributed): batch norms that normalize by the batch's
// statistics take those of the whole batch, through `sumOverProcesses` (the tensors summed over the
// processes, differentiably, its backward a sum over the processes too). The shares are equal, so
// the whole batch has `processes` times this share's rows. Scopes do not nest.
class SplitBatchScope {
 public:
  using Sum = std::function<TensorList(const TensorList&)>;
  SplitBatchScope(Sum sumOverProcesses, int64_t processes);
  ~SplitBatchScope();
  SplitBatchScope(const SplitBatchScope&) = delete;
  SplitBatchScope& operator=(const SplitBatchScope&) = delete;
};

// batchNorm's normalization under the active scopes, or the batch's own without one.
torch::Tensor scopedBatchNorm(const torch::Tensor& input, const torch::Tensor& weight, const torch::Tensor& bias, double eps);

}  // namespace bilevel::core::models

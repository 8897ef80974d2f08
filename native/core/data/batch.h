// Data as an argument: the named tensors an objective is evaluated on (a mini-batch's rows, an
// episode, noise), drawn by a Sampler outside the objectives so that every LL step of an
// iteration, a second unroll of it and a resumed run see exactly the same data.
#pragma once
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace bilevel::core {

// Which part of the sampler's batch a Batch holds: share `index` of `count` equal contiguous shares
// of every tensor's rows (a rank's, core/distributed/sharded_problem.h), or the whole of it. An
// objective that draws a random value per row draws for the whole batch and keeps its own rows,
// so each row gets the same draw however the batch is split.
struct RowShare {
  int64_t index = 0;
  int64_t count = 1;

  // The whole batch's rows, given this share's.
  int64_t wholeRows(int64_t ownRows) const { return ownRows * count; }
  // This share's rows of `whole`, a draw per row of the whole batch.
  torch::Tensor own(const torch::Tensor& whole) const;
};

// Named tensors; empty means "the task's full data" (no sampling).
class Batch {
 public:
  Batch() = default;
  explicit Batch(std::vector<std::pair<std::string, torch::Tensor>> tensors, RowShare share = {})
      : tensors_(std::move(tensors)), share_(share) {}

  bool empty() const { return tensors_.empty(); }
  // The tensor of that name; INVALID_ARGUMENT naming the names the batch has when it is missing.
  const torch::Tensor& at(const std::string& name) const;
  const std::vector<std::pair<std::string, torch::Tensor>>& tensors() const { return tensors_; }
  const RowShare& rowShare() const { return share_; }

 private:
  std::vector<std::pair<std::string, torch::Tensor>> tensors_;
  RowShare share_;
};

// The data of one UL iteration: one batch for F, and for f either one batch per LL step (a fresh
// mini-batch each step), one batch shared by all steps (a few-shot episode), or none.
struct IterationBatches {
  Batch upper;
  std::vector<Batch> lower;

  // The batch of LL step k (0-based).
  const Batch& lowerAt(int64_t k) const;
  // The batch of the last LL step of an unroll of `steps` steps: where the LL iterate y_K was
  // reached, so the implicit and finite-difference methods take their curvature there.
  const Batch& lowerLast(int64_t steps) const { return lowerAt(steps - 1); }
};

}  // namespace bilevel::core

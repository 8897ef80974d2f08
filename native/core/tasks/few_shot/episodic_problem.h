// What every layout of the few-shot task shares (docs/algorithms.md §13): the episodic data and
// its sampler, f and F from a layout's logits (f with the heads' regularizer), and the metrics,
// where each test episode adapts the layout's per-task variables from their start as the LL does.
// A layout says what x and y are: the heads layout (x = backbone, y = one head per task) or MAML's
// (x = the whole network's initialization, y = each task's offset from it).
#pragma once
#include <memory>
#include <utility>

#include "core/models/model.h"
#include "core/problem.h"
#include "core/tasks/few_shot/episodes.h"
#include "core/tasks/few_shot/few_shot_task.h"
#include "core/tasks/few_shot/head_regularizer.h"

namespace bilevel::core {

struct EpisodicData {
  std::shared_ptr<const ClassImages> train;
  ClassImages test;
  std::shared_ptr<const models::Model> backbone;  // images -> features [n, D]
};

class EpisodicProblem : public Problem {
 public:
  EpisodicProblem(Variables upper, Variables lower, EpisodicData data, const FewShotOptions& options);

  std::unique_ptr<Sampler> sampler() const override;
  // F and f sum over the meta-batch's tasks, and task j reads only y[j] (both layouts).
  BatchRows batchRows() const override { return {true, true}; }
  // The episodes F and f see without a sampler, and every image of the training and test classes
  // (scaled to [0, 1] in the task's dtype, as F and f see them).
  std::vector<std::pair<std::string, torch::Tensor>> data() const override;

 protected:
  // F: the query cross-entropies summed over the meta-batch (each task's mean over its queries).
  torch::Tensor evaluateUpper(const TensorList& x, const TensorList& y, const Batch& batch) override;
  // f: the same on the support sets, plus the regularizer of the heads.
  torch::Tensor evaluateLower(const TensorList& x, const TensorList& y, const Batch& batch) override;
  // The images are held as bytes; data() converts them.
  int64_t dataBytes() const override;
  std::vector<std::pair<std::string, double>> taskMetrics(const TensorList& x, const TensorList& y) override;
  std::vector<std::pair<std::string, double>> taskMetricsWith(const TensorList& x, const TensorList& y,
                                                              const OptionSource& settings) override;

  // Each task's logits [B, n, N] on its images [B, n, C, S, S] at (x, y).
  virtual torch::Tensor logits(const TensorList& x, const TensorList& y, const torch::Tensor& images) = 0;
  // Each task's head {W [B, N, D], b [B, N]} at (x, y): what the regularizer takes.
  virtual std::pair<torch::Tensor, torch::Tensor> heads(const TensorList& x, const TensorList& y) const = 0;

  // The features [n, D] of one task's images [n, C, S, S] under backbone parameters params; batch
  // norm takes the statistics of these images alone.
  torch::Tensor embed(const TensorList& params, const torch::Tensor& images) const { return data_.backbone->forward(params, images); }
  const FewShotOptions& options() const { return options_; }

 private:
  std::vector<std::pair<std::string, double>> evaluate(const TensorList& x, const FewShotEvaluation& evaluation);
  double adaptedAccuracy(const TensorList& x, const Batch& episode, const FewShotEvaluation& evaluation);
  uint64_t seed() const { return static_cast<uint64_t>(options_.seed); }

  EpisodicData data_;
  FewShotOptions options_;
  EpisodeShape shape_;
  HeadRegularizer regularizer_;
  torch::TensorOptions tensorOptions_;
  Batch fullBatch_;  // F and f without a sampler: training episodes 0 .. metaBatch - 1
};

// The layouts, over data whose backbone has input channels and sizes of the options.
std::shared_ptr<Problem> headsProblem(EpisodicData data, const FewShotOptions& options);
std::shared_ptr<Problem> mamlProblem(EpisodicData data, const FewShotOptions& options);

}  // namespace bilevel::core

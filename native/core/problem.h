// A bilevel problem: UL variables x, LL variables y, each in a simple set, and F, f (Eq. 1). A
// training task (e.g. nas-retrain) has no x: only the training solver takes it.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/data/batch.h"
#include "core/data/sampler.h"
#include "core/option_reader.h"
#include "core/tensor_list.h"

namespace bilevel::core {

// A box [lower, upper] (scalar or per element); an undefined bound is unbounded.
struct Box {
  torch::Tensor lower;
  torch::Tensor upper;
  bool bounded() const { return lower.defined() || upper.defined(); }
  torch::Tensor project(const torch::Tensor& v) const;
};

// Projects each tensor onto its box (a list shorter than values leaves the rest free).
TensorList project(const TensorList& values, const std::vector<Box>& sets);
// Refuses (SHAPE_MISMATCH) a bound that would change its variable's shape when broadcast: a
// bound is a scalar or broadcasts to exactly the variable's shape.
void checkBoxes(const TensorList& values, const std::vector<Box>& sets, const std::string& what);
// Values given for variables like `like`: one floating-point tensor per variable, of its shape;
// returned in the variables' dtype and device.
TensorList conformed(const TensorList& values, const TensorList& like, const std::string& what);

struct Variables {
  TensorList initial;
  std::vector<Box> sets;  // empty, or one per variable
};

// How F and f treat the rows of a batch (the first dimension of its tensors): what data-parallel
// solving (core/distributed) needs to split them over processes.
struct BatchRows {
  // F and f sum their rows' terms (a few-shot meta-batch: each task's loss); else they average them.
  bool summed = false;
  // y's tensors have the batch's rows in front (task j's head is y[j]): a share of the rows reads
  // only its slice of y, and every term of f in y alone is a sum over the slices.
  bool lowerPerRow = false;
};

class Problem {
 public:
  Problem(Variables upper, Variables lower);
  virtual ~Problem() = default;

  const Variables& upperVariables() const { return upper_; }
  const Variables& lowerVariables() const { return lower_; }

  // F(x, y; batch) and f(x, y; batch), checked to be scalars; an empty batch: the full data.
  torch::Tensor upperObjective(const TensorList& x, const TensorList& y, const Batch& batch);
  torch::Tensor lowerObjective(const TensorList& x, const TensorList& y, const Batch& batch);
  // grad_y f and grad_y F. With createGraph the result is differentiable in x and y;
  // without, it is detached. Built-ins override these with closed forms.
  virtual TensorList lowerGradient(const TensorList& x, const TensorList& y, const Batch& batch, bool createGraph);
  virtual TensorList upperGradient(const TensorList& x, const TensorList& y, const Batch& batch, bool createGraph);
  // A fresh sampler of the batches F and f are evaluated on, in its starting state (each solver
  // draws from its own); none: every evaluation sees the full data.
  virtual std::unique_ptr<Sampler> sampler() const { return nullptr; }
  // The mean over rows, y shared by all rows, unless a problem says otherwise.
  virtual BatchRows batchRows() const { return {}; }
  // Whether F and f may be evaluated on any thread (false for objectives written in JavaScript,
  // which must run on the JS thread), so a run may leave the main thread.
  virtual bool anyThread() const { return true; }
  // A task's data by name (splits, labels, masks), for inspection; none for toy problems.
  virtual std::vector<std::pair<std::string, torch::Tensor>> data() const { return {}; }
  // Bytes of tensor memory the problem holds (its data and starting values), reported to V8.
  int64_t bytes() const;
  // Task metrics of (x, y), e.g. test accuracy; none for problems without any. x and y are
  // checked against the problem's variables first. settings change how a task measures, for this
  // call (few-shot: its test episodes and their adaptation); a task that takes none refuses any.
  std::vector<std::pair<std::string, double>> metrics(const TensorList& x, const TensorList& y,
                                                      const NumberSettings& settings = {});
  // Named tensors that show the solution (x, y) in a report, e.g. a GAN's generated samples beside
  // the true modes; none for most problems. x and y are checked as for metrics.
  std::vector<std::pair<std::string, torch::Tensor>> views(const TensorList& x, const TensorList& y);

 protected:
  virtual std::vector<std::pair<std::string, double>> taskMetrics(const TensorList&, const TensorList&) { return {}; }
  // taskMetrics under a caller's settings; by default none are taken.
  virtual std::vector<std::pair<std::string, double>> taskMetricsWith(const TensorList& x, const TensorList& y,
                                                                      const OptionSource& settings) {
    refuseUnknown(settings, {}, "metrics");
    return taskMetrics(x, y);
  }
  virtual std::vector<std::pair<std::string, torch::Tensor>> taskViews(const TensorList&, const TensorList&) { return {}; }
  // The bytes of the task's data: by default data()'s; a task whose data() converts (or leaves
  // out) what it holds counts it itself.
  virtual int64_t dataBytes() const;
  virtual torch::Tensor evaluateUpper(const TensorList& x, const TensorList& y, const Batch& batch) = 0;
  virtual torch::Tensor evaluateLower(const TensorList& x, const TensorList& y, const Batch& batch) = 0;

 private:
  TensorList gradientInY(bool upper, const TensorList& x, const TensorList& y, const Batch& batch, bool createGraph);

  Variables upper_;
  Variables lower_;
};

}  // namespace bilevel::core

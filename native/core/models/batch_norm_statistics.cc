#include "core/models/batch_norm_statistics.h"

#include "core/error.h"

namespace bilevel::core::models {
namespace {

struct ActiveScope {
  BatchNormStatistics* statistics = nullptr;
  BatchNormMode mode = BatchNormMode::Track;
  size_t next = 0;     // the index of the next batch norm call
  size_t tracked = 0;  // the statistics held when the scope began (0: a first forward defines them)
};
thread_local ActiveScope active;

struct ActiveSplit {
  SplitBatchScope::Sum sum;
  int64_t processes = 1;
};
thread_local ActiveSplit split;

// The whole split batch's normalization: mean and biased variance per channel from every process's
// share (two passes, as torch computes them on one batch).
struct SplitNormalization {
  torch::Tensor out;
  torch::Tensor mean;
  torch::Tensor variance;
  double count;  // the whole batch's values per channel
};

SplitNormalization splitBatchNorm(const torch::Tensor& input, const torch::Tensor& weight, const torch::Tensor& bias, double eps) {
  std::vector<int64_t> reduced{0};
  for (int64_t d = 2; d < input.dim(); ++d) reduced.push_back(d);
  std::vector<int64_t> perChannel(static_cast<size_t>(input.dim()), 1);
  perChannel[1] = input.size(1);
  const double count = static_cast<double>(input.numel() / input.size(1) * split.processes);
  const torch::Tensor mean = split.sum({input.sum(reduced)})[0] / count;
  const torch::Tensor centered = input - mean.view(perChannel);
  const torch::Tensor variance = split.sum({centered.square().sum(reduced)})[0] / count;
  torch::Tensor out = centered * (variance + eps).rsqrt().view(perChannel);
  if (weight.defined()) out = out * weight.view(perChannel);
  if (bias.defined()) out = out + bias.view(perChannel);
  return {out, mean, variance, count};
}

// Folds a split normalization's statistics into running ones, as torch's training mode does its own
// (the unbiased variance).
void foldIntoRunning(const SplitNormalization& n, torch::Tensor& runningMean, torch::Tensor& runningVariance, double momentum) {
  torch::NoGradGuard noGrad;
  runningMean.mul_(1 - momentum).add_(n.mean.detach(), momentum);
  runningVariance.mul_(1 - momentum).add_(n.variance.detach() * (n.count / std::max(n.count - 1, 1.0)), momentum);
}

}  // namespace

SplitBatchScope::SplitBatchScope(Sum sumOverProcesses, int64_t processes) {
  if (split.sum) throw Error("INVALID_ARGUMENT", "split batch: a scope is already active on this thread");
  split = {std::move(sumOverProcesses), processes};
}

SplitBatchScope::~SplitBatchScope() { split = {}; }

BatchNormScope::BatchNormScope(BatchNormStatistics& statistics, BatchNormMode mode) {
  if (active.statistics != nullptr) throw Error("INVALID_ARGUMENT", "batch norm statistics: a scope is already active on this thread");
  active = {&statistics, mode, 0, statistics.means.size()};
}

BatchNormScope::~BatchNormScope() { active = {}; }

int64_t BatchNormScope::calls() const { return static_cast<int64_t>(active.next); }

torch::Tensor scopedBatchNorm(const torch::Tensor& input, const torch::Tensor& weight, const torch::Tensor& bias, double eps) {
  if (active.statistics == nullptr) {
    if (split.sum) return splitBatchNorm(input, weight, bias, eps).out;
    return torch::batch_norm(input, weight, bias, {}, {}, /*training=*/true, /*momentum=*/0.0, eps, /*cudnn_enabled=*/true);
  }
  BatchNormStatistics& s = *active.statistics;
  const size_t k = active.next++;
  const int64_t channels = input.size(1);
  if (active.mode == BatchNormMode::Track && active.tracked == 0 && k == s.means.size()) {
    const auto options = input.options().requires_grad(false);
    s.means.push_back(torch::zeros({channels}, options));
    s.variances.push_back(torch::ones({channels}, options));
  }
  if (k >= s.means.size() || s.means[k].size(0) != channels) {
    throw Error("SHAPE_MISMATCH", "batch norm statistics: batch norm " + std::to_string(k) + " of the forward (" +
                                      std::to_string(channels) + " channels) has no running statistics of its shape; " +
                                      std::to_string(s.means.size()) + " were tracked");
  }
  if (split.sum && active.mode == BatchNormMode::Track) {
    const SplitNormalization normalized = splitBatchNorm(input, weight, bias, eps);
    foldIntoRunning(normalized, s.means[k], s.variances[k], s.momentum);
    return normalized.out;
  }
  // In training mode torch updates the running tensors in place (unbiased variance); they do not
  // require grad, so the forward stays differentiable in input, weight and bias.
  return torch::batch_norm(input, weight, bias, s.means[k], s.variances[k], active.mode == BatchNormMode::Track, s.momentum, eps,
                           /*cudnn_enabled=*/true);
}

}  // namespace bilevel::core::models

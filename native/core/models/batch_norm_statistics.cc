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

}  // namespace

BatchNormScope::BatchNormScope(BatchNormStatistics& statistics, BatchNormMode mode) {
  if (active.statistics != nullptr) throw Error("INVALID_ARGUMENT", "batch norm statistics: a scope is already active on this thread");
  active = {&statistics, mode, 0, statistics.means.size()};
}

BatchNormScope::~BatchNormScope() { active = {}; }

int64_t BatchNormScope::calls() const { return static_cast<int64_t>(active.next); }

torch::Tensor scopedBatchNorm(const torch::Tensor& input, const torch::Tensor& weight, const torch::Tensor& bias, double eps) {
  if (active.statistics == nullptr) {
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
  // In training mode torch updates the running tensors in place (unbiased variance); they do not
  // require grad, so the forward stays differentiable in input, weight and bias.
  return torch::batch_norm(input, weight, bias, s.means[k], s.variances[k], active.mode == BatchNormMode::Track, s.momentum, eps,
                           /*cudnn_enabled=*/true);
}

}  // namespace bilevel::core::models

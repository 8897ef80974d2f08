#include "core/tasks/few_shot/head_regularizer.h"

#include <cmath>

#include "core/error.h"

namespace bilevel::core {
namespace {

// t^p for t >= 0, with value and derivatives 0 where t = 0 (p may be < 1, where autograd's
// derivatives of pow at 0 are infinite or NaN).
torch::Tensor powerAwayFromZero(const torch::Tensor& t, double p) {
  const torch::Tensor zero = t.eq(0);
  return torch::where(zero, torch::zeros_like(t), torch::where(zero, torch::ones_like(t), t).pow(p));
}

// ||h_j||_q per task for the flattened heads h [B, M].
torch::Tensor lqNorms(const torch::Tensor& h, double q) {
  return powerAwayFromZero(powerAwayFromZero(h.abs(), q).sum(1), 1.0 / q);
}

// (||w_j||_2 + epsilon sqrt(M))^(q/2) per task for one head tensor flattened to [B, M].
torch::Tensor smoothedLq(const torch::Tensor& w, double q, double epsilon) {
  const double floor = epsilon * std::sqrt(static_cast<double>(w.size(1)));
  return (powerAwayFromZero(w.square().sum(1), 0.5) + floor).pow(q / 2);
}

}  // namespace

torch::Tensor headRegularizer(const HeadRegularizer& r, const torch::Tensor& W, const torch::Tensor& b) {
  if (r.form == "none") return torch::zeros({}, W.options());
  const torch::Tensor weights = W.flatten(1), biases = b.flatten(1);
  if (r.form == "lq") return r.weight * lqNorms(torch::cat({weights, biases}, 1), r.q).sum();
  if (r.form == "smoothed-lq") return r.weight * (smoothedLq(weights, r.q, r.epsilon) + smoothedLq(biases, r.q, r.epsilon)).sum();
  throw Error("INVALID_ARGUMENT", "regularizer must be none, lq or smoothed-lq; got '" + r.form + "'");
}

}  // namespace bilevel::core

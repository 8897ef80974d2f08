// The non-convex lq regularizer of the few-shot heads (docs/algorithms.md §13.3), in the two forms
// the method is known in: the paper's norm ||y^j||_q of each task's head, and the smoothed form of
// the authors' code, (||w||_2 + ||epsilon 1||_2)^(q/2) per head tensor w. Both are differentiable
// twice everywhere they are used: at a zero head (where the heads start) the lq norm's derivatives
// are taken as zero, the subgradient of least norm, instead of the 0 * infinity that autograd
// would produce.
#pragma once
#include <torch/torch.h>

#include <string>

namespace bilevel::core {

struct HeadRegularizer {
  std::string form = "none";  // "none", "lq" (the paper's) or "smoothed-lq" (the authors' code)
  double weight = 0.25;
  double q = 0.5;             // in (0, 1]
  double epsilon = 0.1;       // smoothed-lq only
};

// weight times the sum over tasks j of the regularizer of head j, for heads W [B, N, D], b [B, N];
// a zero scalar for form "none".
torch::Tensor headRegularizer(const HeadRegularizer& regularizer, const torch::Tensor& W, const torch::Tensor& b);

}  // namespace bilevel::core

// Linear systems for the solvers' tests: dense float64 matrices applied as the matrix-free MatVec
// the solvers take, over one tensor or over a list of tensors of different shapes (the flattened
// concatenation is the vector the matrix acts on).
#pragma once
#include <torch/torch.h>

#include <vector>

#include "core/linear_solve/linear_solve.h"

namespace bilevel::test {

// M M^T + shift I for a random n x rank M: symmetric, positive definite when shift > 0.
inline torch::Tensor randomSymmetric(int64_t n, int64_t rank, double shift, uint64_t seed) {
  torch::manual_seed(seed);
  const torch::Tensor m = torch::randn({n, rank}, torch::kFloat64);
  return m.matmul(m.t()) + shift * torch::eye(n, torch::kFloat64);
}

inline torch::Tensor flatten(const core::TensorList& list) {
  std::vector<torch::Tensor> parts;
  for (const auto& t : list) parts.push_back(t.reshape(-1));
  return torch::cat(parts);
}

// flat cut into tensors shaped like `like`.
inline core::TensorList unflatten(const torch::Tensor& flat, const core::TensorList& like) {
  core::TensorList out;
  int64_t offset = 0;
  for (const auto& t : like) {
    out.push_back(flat.slice(0, offset, offset + t.numel()).reshape(t.sizes()));
    offset += t.numel();
  }
  return out;
}

inline core::MatVec times(const torch::Tensor& a) {
  return [a](const core::TensorList& p) { return unflatten(a.mv(flatten(p)), p); };
}

inline double maxAbsDifference(const core::TensorList& a, const torch::Tensor& b) {
  return (flatten(a) - b).abs().max().item<double>();
}

}  // namespace bilevel::test

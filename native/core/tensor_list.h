// Arithmetic on lists of tensors: the variables x, y, z of a bilevel problem are lists.
#pragma once
#include <torch/torch.h>

#include <vector>

namespace bilevel::core {

using TensorList = std::vector<torch::Tensor>;

inline TensorList detached(const TensorList& a) {
  TensorList out;
  out.reserve(a.size());
  for (const auto& t : a) out.push_back(t.detach());
  return out;
}

// Independent copies without history.
inline TensorList cloned(const TensorList& a) {
  TensorList out;
  out.reserve(a.size());
  for (const auto& t : a) out.push_back(t.detach().clone());
  return out;
}

// Fresh leaves that require grad, sharing no history with a.
inline TensorList leaves(const TensorList& a) {
  TensorList out;
  out.reserve(a.size());
  for (const auto& t : a) out.push_back(t.detach().requires_grad_(true));
  return out;
}

inline TensorList zerosLike(const TensorList& a) {
  TensorList out;
  out.reserve(a.size());
  for (const auto& t : a) out.push_back(torch::zeros_like(t));
  return out;
}

// a + alpha * b, elementwise over the lists.
inline TensorList axpy(const TensorList& a, const TensorList& b, double alpha) {
  TensorList out;
  out.reserve(a.size());
  for (size_t i = 0; i < a.size(); ++i) out.push_back(a[i] + alpha * b[i]);
  return out;
}

inline TensorList scaled(const TensorList& a, double alpha) {
  TensorList out;
  out.reserve(a.size());
  for (const auto& t : a) out.push_back(alpha * t);
  return out;
}

// sum_i <a_i, b_i> as a (differentiable) scalar tensor.
inline torch::Tensor dot(const TensorList& a, const TensorList& b) {
  torch::Tensor total = (a[0] * b[0]).sum();
  for (size_t i = 1; i < a.size(); ++i) total = total + (a[i] * b[i]).sum();
  return total;
}

inline double norm(const TensorList& a) {
  if (a.empty()) return 0.0;
  torch::NoGradGuard noGrad;
  return std::sqrt(dot(a, a).item<double>());
}

// One host sync for the whole list.
inline bool allFinite(const TensorList& a) {
  if (a.empty()) return true;
  torch::NoGradGuard noGrad;
  std::vector<torch::Tensor> checks;
  checks.reserve(a.size());
  for (const auto& t : a) checks.push_back(torch::isfinite(t).all());
  return torch::stack(checks).all().item<bool>();
}

// Gradients of a scalar w.r.t. inputs; an input the output does not depend on gets zeros.
inline TensorList gradients(const torch::Tensor& output, const TensorList& inputs, bool createGraph,
                            bool retainGraph, const TensorList& gradOutputs = {}) {
  TensorList grads = torch::autograd::grad({output}, inputs, gradOutputs, retainGraph, createGraph,
                                           /*allow_unused=*/true);
  for (size_t i = 0; i < grads.size(); ++i) {
    if (!grads[i].defined()) grads[i] = torch::zeros_like(inputs[i]);
  }
  return grads;
}

inline TensorList concat(TensorList a, const TensorList& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace bilevel::core

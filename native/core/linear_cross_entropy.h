// A per-sample-weighted softmax cross-entropy of a linear model and its gradient in (W, b),
//   f(W, b) = (1/N) sum_i w_i CE(X_i W^T + b, label_i),
// fused: for each block of rows of X, the logits, the softmax residual and its product with the
// block are computed while the block is in cache, so X is read once per gradient instead of twice,
// and no skinny GEMM (one column per class, which BLAS runs far below peak for few classes) is
// involved. Its backward (a Hessian-vector product, what reverse-mode hypergradients need per LL
// step) is fused the same way.
// This is the LL step of data hyper-cleaning with the linear model.
#pragma once
#include <torch/torch.h>

#include "core/tensor_list.h"

namespace bilevel::core {

// Whether the fused kernel serves these features and classes: float32, CPU, 2-D, 2 to 1024 classes.
bool fusedLinearCrossEntropyApplies(const torch::Tensor& features, int64_t classes);

// f(W, b) itself, differentiable in weights, W and b: its forward is one pass over the features
// and its first-order backward one more; a backward that records a graph runs autograd ops.
torch::Tensor linearCrossEntropy(const torch::Tensor& features, const torch::Tensor& labels,
                                 const torch::Tensor& weights, const torch::Tensor& W, const torch::Tensor& b);

// {grad_W f, grad_b f}, differentiable in weights, W and b: first-order backward passes run the
// fused kernel; a backward that records a graph (create_graph) runs autograd ops.
TensorList linearCrossEntropyGradient(const torch::Tensor& features, const torch::Tensor& labels,
                                      const torch::Tensor& weights, const torch::Tensor& W, const torch::Tensor& b);

}  // namespace bilevel::core

#include "core/linear_cross_entropy.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>

// The helpers pass 64-byte vectors by value only when inlined into the clones below.
#pragma GCC diagnostic ignored "-Wpsabi"

// One build for every x86-64 CPU: GCC compiles each kernel for AVX-512, AVX2 and the baseline
// and picks the best the CPU has at load time.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define BILEVEL_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define BILEVEL_VECTOR_CLONES
#endif

namespace bilevel::core {
namespace {

constexpr int kClasses = 10;
// Rows per block: 32 rows of 784 floats (100 KB) stay in L2 between the block's two uses.
constexpr int64_t kBlock = 32;
constexpr int kLanes = 16;

typedef float Vec __attribute__((vector_size(64)));
typedef float UnalignedVec __attribute__((vector_size(64), aligned(4)));
typedef float Half __attribute__((vector_size(32)));
typedef float Quarter __attribute__((vector_size(16)));

__attribute__((always_inline)) inline Vec load(const float* p) { return *reinterpret_cast<const UnalignedVec*>(p); }
__attribute__((always_inline)) inline void store(float* p, Vec v) { *reinterpret_cast<UnalignedVec*>(p) = v; }
__attribute__((always_inline)) inline float horizontalSum(Vec v) {
  const Half h = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
                 __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  const Quarter q = __builtin_shufflevector(h, h, 0, 1, 2, 3) + __builtin_shufflevector(h, h, 4, 5, 6, 7);
  return (q[0] + q[1]) + (q[2] + q[3]);
}

// out[r][c] = X_r . M_c for 4 rows and H classes, all 4H sums in registers.
template <int H>
__attribute__((always_inline)) inline void dotTile(const float* x, int64_t D, const float* M, float* out) {
  Vec sums[4][H] = {};
  const int64_t vectorEnd = D / kLanes * kLanes;
  for (int64_t d = 0; d < vectorEnd; d += kLanes) {
    Vec w[H];
#pragma GCC unroll 16
    for (int c = 0; c < H; ++c) w[c] = load(M + c * D + d);
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r) {
      const Vec u = load(x + r * D + d);
#pragma GCC unroll 16
      for (int c = 0; c < H; ++c) sums[r][c] += u * w[c];
    }
  }
  for (int r = 0; r < 4; ++r) {
    for (int c = 0; c < H; ++c) {
      float s = horizontalSum(sums[r][c]);
      for (int64_t d = vectorEnd; d < D; ++d) s += x[r * D + d] * M[c * D + d];
      out[r * kClasses + c] = s;
    }
  }
}

// out[r][c] = X_r . M_c + m_c for the R rows of a block.
BILEVEL_VECTOR_CLONES
void rowsTimesTransposed(const float* X, int64_t R, int64_t D, const float* M, const float* m, float* out) {
  constexpr int half = kClasses / 2;
  int64_t r = 0;
  for (; r + 4 <= R; r += 4) {
    dotTile<half>(X + r * D, D, M, out + r * kClasses);
    dotTile<kClasses - half>(X + r * D, D, M + half * D, out + r * kClasses + half);
  }
  for (; r < R; ++r) {
    for (int c = 0; c < kClasses; ++c) {
      float s = 0;
      for (int64_t d = 0; d < D; ++d) s += X[r * D + d] * M[c * D + d];
      out[r * kClasses + c] = s;
    }
  }
  for (int64_t i = 0; i < R * kClasses; ++i) out[i] += m[i % kClasses];
}

// acc[c][:] += sum_r T[r][c] X_r for the R rows of a block; the C sums of a 16-column strip stay
// in registers while the rows stream through.
BILEVEL_VECTOR_CLONES
void accumulateTransposed(const float* X, int64_t R, int64_t D, const float* T, float* acc) {
  const int64_t vectorEnd = D / kLanes * kLanes;
  for (int64_t d = 0; d < vectorEnd; d += kLanes) {
    Vec a[kClasses];
#pragma GCC unroll 16
    for (int c = 0; c < kClasses; ++c) a[c] = load(acc + c * D + d);
    for (int64_t r = 0; r < R; ++r) {
      const Vec x = load(X + r * D + d);
#pragma GCC unroll 16
      for (int c = 0; c < kClasses; ++c) a[c] += T[r * kClasses + c] * x;
    }
#pragma GCC unroll 16
    for (int c = 0; c < kClasses; ++c) store(acc + c * D + d, a[c]);
  }
  for (int64_t d = vectorEnd; d < D; ++d) {
    for (int64_t r = 0; r < R; ++r) {
      for (int c = 0; c < kClasses; ++c) acc[c * D + d] += T[r * kClasses + c] * X[r * D + d];
    }
  }
}

// One pass over X: per block, L = X_b M^T + m, then rowFn(i, L_i, T_i) for each row, then
// {grad, gradBias} += {T^T X_b, column sums of T}. Threads own blocks and their own sums, which
// are added in thread order, so a run is reproducible for a given thread count.
template <typename RowFn>
void fusedPass(const torch::Tensor& X, const torch::Tensor& M, const torch::Tensor& m, torch::Tensor& grad,
               torch::Tensor& gradBias, const RowFn& rowFn) {
  const int64_t N = X.size(0), D = X.size(1);
  const float* x = X.data_ptr<float>();
  const float* mp = M.data_ptr<float>();
  const float* bp = m.data_ptr<float>();
  const int64_t stride = kClasses * D + kClasses;
  const int64_t blocks = (N + kBlock - 1) / kBlock;
  std::vector<float> partial(static_cast<size_t>(at::get_num_threads() * stride), 0.0f);
  at::parallel_for(0, blocks, 1, [&](int64_t begin, int64_t end) {
    float* sums = partial.data() + at::get_thread_num() * stride;
    float logits[kBlock * kClasses];
    float t[kBlock * kClasses];
    for (int64_t block = begin; block < end; ++block) {
      const int64_t first = block * kBlock, R = std::min(kBlock, N - first);
      const float* xb = x + first * D;
      rowsTimesTransposed(xb, R, D, mp, bp, logits);
      for (int64_t r = 0; r < R; ++r) rowFn(first + r, logits + r * kClasses, t + r * kClasses);
      accumulateTransposed(xb, R, D, t, sums);
      for (int64_t r = 0; r < R; ++r) {
        for (int c = 0; c < kClasses; ++c) sums[kClasses * D + c] += t[r * kClasses + c];
      }
    }
  });
  grad = torch::zeros({kClasses, D}, X.options());
  gradBias = torch::zeros({kClasses}, X.options());
  float* g = grad.data_ptr<float>();
  float* gb = gradBias.data_ptr<float>();
  for (size_t offset = 0; offset < partial.size(); offset += stride) {
    for (int64_t j = 0; j < kClasses * D; ++j) g[j] += partial[offset + j];
    for (int c = 0; c < kClasses; ++c) gb[c] += partial[offset + kClasses * D + c];
  }
}

struct Inputs {
  torch::Tensor features, labels, weights;
};

Inputs contiguousInputs(const torch::Tensor& features, const torch::Tensor& labels, const torch::Tensor& weights) {
  return {features.contiguous(), labels.to(torch::kInt64).contiguous(), weights.detach().contiguous()};
}

// Forward: {grad_W, grad_b, P} with P the softmax of the logits (kept for the backward).
TensorList forwardPass(const Inputs& in, const torch::Tensor& W, const torch::Tensor& b) {
  const int64_t N = in.features.size(0);
  torch::Tensor probabilities = torch::empty({N, kClasses}, in.features.options());
  float* P = probabilities.data_ptr<float>();
  const float* w = in.weights.data_ptr<float>();
  const int64_t* label = in.labels.data_ptr<int64_t>();
  const float inverseN = 1.0f / static_cast<float>(N);
  torch::Tensor grad, gradBias;
  fusedPass(in.features, W.detach().contiguous(), b.detach().contiguous(), grad, gradBias,
            [&](int64_t i, const float* logits, float* t) {
              const float top = *std::max_element(logits, logits + kClasses);
              float total = 0;
              for (int c = 0; c < kClasses; ++c) total += (P[i * kClasses + c] = std::exp(logits[c] - top));
              const float scale = w[i] * inverseN;
              for (int c = 0; c < kClasses; ++c) {
                P[i * kClasses + c] /= total;
                t[c] = scale * (P[i * kClasses + c] - (c == label[i] ? 1.0f : 0.0f));
              }
            });
  return {grad, gradBias, probabilities};
}

// Backward of {grad_W, grad_b} against cotangents (U, u): with V = X U^T + u,
//   d/dw_i = <P_i - e_label, V_i> / N,   {d/dW, d/db} = {H^T X, column sums of H},
//   H_i = (w_i / N) P_i * (V_i - <P_i, V_i>)   (the softmax Jacobian applied to w_i V_i / N).
TensorList backwardPass(const Inputs& in, const torch::Tensor& probabilities, const torch::Tensor& U,
                        const torch::Tensor& u) {
  const int64_t N = in.features.size(0);
  torch::Tensor gradWeights = torch::empty({N}, in.features.options());
  float* dw = gradWeights.data_ptr<float>();
  const float* P = probabilities.data_ptr<float>();
  const float* w = in.weights.data_ptr<float>();
  const int64_t* label = in.labels.data_ptr<int64_t>();
  const float inverseN = 1.0f / static_cast<float>(N);
  torch::Tensor gradW, gradB;
  fusedPass(in.features, U.contiguous(), u.contiguous(), gradW, gradB, [&](int64_t i, const float* v, float* t) {
    const float* p = P + i * kClasses;
    float projected = 0;
    for (int c = 0; c < kClasses; ++c) projected += p[c] * v[c];
    dw[i] = (projected - v[label[i]]) * inverseN;
    const float scale = w[i] * inverseN;
    for (int c = 0; c < kClasses; ++c) t[c] = scale * p[c] * (v[c] - projected);
  });
  return {gradWeights, gradW, gradB};
}

// The same backward in autograd ops, for backward passes that record a graph (forward-mode
// hypergradients differentiate the backward once more).
TensorList recordedBackward(const torch::Tensor& X, const torch::Tensor& labels, const torch::Tensor& weights,
                            const torch::Tensor& W, const torch::Tensor& b, const torch::Tensor& U,
                            const torch::Tensor& u) {
  const double inverseN = 1.0 / static_cast<double>(X.size(0));
  const torch::Tensor P = torch::softmax(torch::addmm(b, X, W.t()), 1);
  const torch::Tensor residual = P - torch::one_hot(labels, kClasses).to(P.scalar_type());
  const torch::Tensor V = torch::addmm(u, X, U.t());
  const torch::Tensor projected = (P * V).sum(1, true);
  const torch::Tensor H = weights.unsqueeze(1) * P * (V - projected) * inverseN;
  return {(residual * V).sum(1) * inverseN, H.t().mm(X), H.sum(0)};
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct FusedGradient : public torch::autograd::Function<FusedGradient> {
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& weights, const torch::Tensor& W,
                               const torch::Tensor& b, const torch::Tensor& features, const torch::Tensor& labels) {
    const Inputs in = contiguousInputs(features, labels, weights);
    TensorList out = forwardPass(in, W, b);
    ctx->save_for_backward({weights, W, b});
    ctx->saved_data["features"] = in.features;
    ctx->saved_data["labels"] = in.labels;
    ctx->saved_data["probabilities"] = out[2];
    return {out[0], out[1]};
  }

  static variable_list backward(AutogradContext* ctx, variable_list cotangents) {
    const variable_list saved = ctx->get_saved_variables();
    const torch::Tensor features = ctx->saved_data["features"].toTensor();
    const torch::Tensor labels = ctx->saved_data["labels"].toTensor();
    const torch::Tensor U = cotangents[0].defined() ? cotangents[0] : torch::zeros_like(saved[1]);
    const torch::Tensor u = cotangents[1].defined() ? cotangents[1] : torch::zeros_like(saved[2]);
    TensorList grads = torch::GradMode::is_enabled()
                           ? recordedBackward(features, labels, saved[0], saved[1], saved[2], U, u)
                           : backwardPass(contiguousInputs(features, labels, saved[0]),
                                          ctx->saved_data["probabilities"].toTensor(), U, u);
    return {grads[0], grads[1], grads[2], torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

bool fusedLinearCrossEntropyApplies(const torch::Tensor& features, int64_t classes) {
  return classes == kClasses && features.dim() == 2 && features.scalar_type() == torch::kFloat32 &&
         features.device().is_cpu();
}

TensorList linearCrossEntropyGradient(const torch::Tensor& features, const torch::Tensor& labels,
                                      const torch::Tensor& weights, const torch::Tensor& W, const torch::Tensor& b) {
  return FusedGradient::apply(weights, W, b, features, labels);
}

}  // namespace bilevel::core

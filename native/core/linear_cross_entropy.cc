#include "core/linear_cross_entropy.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <utility>

// SLEEF's vectorized exp (the library PyTorch's CPU kernels use) for the softmax of each block.
// sleef.h declares its AVX-512 functions only in units compiled for AVX-512 (this one is compiled
// for every x86-64 and picks AVX-512 at run time), so the one function used is declared here.
// Without SLEEF (or AVX-512) the softmax runs scalar std::exp.
#if defined(BILEVEL_HAVE_SLEEF) && defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
extern "C" __m512 Sleef_expf16_u10avx512f(__m512);
#define BILEVEL_VECTOR_SOFTMAX 1
#endif

// One build for every x86-64 CPU: GCC compiles each kernel for AVX-512, AVX2 and the baseline
// and picks the best the CPU has at load time.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define BILEVEL_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define BILEVEL_VECTOR_CLONES
#endif

namespace bilevel::core {
namespace {

// Class counts served. Each 4 rows' logits read all of W, which a GEMM would block in cache
// instead: with 2000 rows of 784 features on one thread an LL step (gradient and Hessian-vector
// product) took 0.3x autograd's time at 10 to 100 classes, 0.5x at 1000 (W 3 MB) and 0.7x at
// 4000; the bound keeps well inside that.
constexpr int64_t kMinClasses = 2, kMaxClasses = 1024;
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

// Two vectors each holding 16 / G partial sums of G adjacent lanes become one holding 32 / G
// partial sums of G / 2 lanes: result lane k takes lane halfLane(G, k) of the pair (a, b) plus the
// lane G / 2 further on. Sums keep their order, a's first.
constexpr int halfLane(int G, int k) {
  const int half = G / 2, sum = k / half, offset = k % half, perVector = kLanes / G;
  return sum < perVector ? sum * G + offset : kLanes + (sum - perVector) * G + offset;
}
template <int G, size_t... K>
__attribute__((always_inline)) inline Vec pairSums(Vec a, Vec b, std::index_sequence<K...>) {
  return __builtin_shufflevector(a, b, halfLane(G, K)...) + __builtin_shufflevector(a, b, (halfLane(G, K) + G / 2)...);
}
template <int G>
__attribute__((always_inline)) inline void pairSumsLevel(Vec* v, int count) {
  for (int i = 0; i < count; ++i) v[i] = pairSums<G>(v[2 * i], v[2 * i + 1], std::make_index_sequence<kLanes>());
}

// Lane i of the result is the sum of v[i]'s lanes, for 16 vectors: four levels of pairSums,
// 15 adds and 30 permutes instead of 16 separate horizontal reductions.
__attribute__((always_inline)) inline Vec transposedSums(const Vec* v) {
  Vec partial[kLanes];
  std::copy(v, v + kLanes, partial);
  pairSumsLevel<16>(partial, 8);
  pairSumsLevel<8>(partial, 4);
  pairSumsLevel<4>(partial, 2);
  pairSumsLevel<2>(partial, 1);
  return partial[0];
}

// Tile<W>::run(args...) for the W in 1..sizeof...(Widths) that equals width: the kernels' tiles
// have their class count fixed at compile time (their sums live in registers), so the classes
// left after the full tiles are taken by the narrower tile that fits. Those run in functions of
// their own, so the full tiles' loops keep their registers to themselves.
template <template <int> class Tile, int... Widths, typename... Args>
__attribute__((always_inline)) inline void runTileOfWidth(int64_t width, std::integer_sequence<int, Widths...>,
                                                          Args... args) {
  (void)((width == Widths + 1 && (Tile<Widths + 1>::run(args...), true)) || ...);
}

// out[r][c] = X_r . M_c for 4 rows and TC classes, all 4 TC sums in registers; out's rows are C apart.
template <int TC>
struct DotTile {
  __attribute__((always_inline)) static void run(const float* x, int64_t D, const float* M, int64_t C, float* out) {
    constexpr int count = 4 * TC;
    Vec sums[count] = {};
    const int64_t vectorEnd = D / kLanes * kLanes;
    for (int64_t d = 0; d < vectorEnd; d += kLanes) {
      Vec w[TC];
#pragma GCC unroll 16
      for (int c = 0; c < TC; ++c) w[c] = load(M + c * D + d);
#pragma GCC unroll 4
      for (int r = 0; r < 4; ++r) {
        const Vec u = load(x + r * D + d);
#pragma GCC unroll 16
        for (int c = 0; c < TC; ++c) sums[r * TC + c] += u * w[c];
      }
    }
    float totals[count];
    int reduced = 0;
    if constexpr (count >= kLanes) {
      store(totals, transposedSums(sums));
      reduced = kLanes;
    }
    for (int i = reduced; i < count; ++i) totals[i] = horizontalSum(sums[i]);
    for (int r = 0; r < 4; ++r) {
      for (int c = 0; c < TC; ++c) {
        float s = totals[r * TC + c];
        for (int64_t d = vectorEnd; d < D; ++d) s += x[r * D + d] * M[c * D + d];
        out[r * C + c] = s;
      }
    }
  }
};
// Classes per dot tile: 4 rows x 5 classes make 20 sums, with the 5 class vectors and a row's
// vector 26 of AVX-512's 32 registers.
constexpr int kDotTileClasses = 5;

// DotTile<width> for 1 <= width < kDotTileClasses.
BILEVEL_VECTOR_CLONES
void narrowDotTile(const float* x, int64_t D, const float* M, int64_t C, float* out, int64_t width) {
  runTileOfWidth<DotTile>(width, std::make_integer_sequence<int, kDotTileClasses - 1>(), x, D, M, C, out);
}

// out[r][c] = X_r . M_c + m_c for the R rows of a block and the C classes of M.
BILEVEL_VECTOR_CLONES
void rowsTimesTransposed(const float* X, int64_t R, int64_t D, const float* M, const float* m, int64_t C, float* out) {
  const int64_t fullTiles = C / kDotTileClasses * kDotTileClasses;
  int64_t r = 0;
  for (; r + 4 <= R; r += 4) {
    // Tiles in pairs, each with loads of its own: the first streams the rows from memory, the
    // second rereads them from L1, and the CPU's stride prefetchers, which follow each load
    // instruction, see one pattern each (one loop for both ran the logits pass 5-10% slower).
    int64_t c = 0;
    for (; c + 2 * kDotTileClasses <= fullTiles; c += 2 * kDotTileClasses) {
      DotTile<kDotTileClasses>::run(X + r * D, D, M + c * D, C, out + r * C + c);
      DotTile<kDotTileClasses>::run(X + r * D, D, M + (c + kDotTileClasses) * D, C, out + r * C + c + kDotTileClasses);
    }
    if (c < fullTiles) DotTile<kDotTileClasses>::run(X + r * D, D, M + c * D, C, out + r * C + c);
    if (fullTiles < C) narrowDotTile(X + r * D, D, M + fullTiles * D, C, out + r * C + fullTiles, C - fullTiles);
  }
  for (; r < R; ++r) {
    for (int64_t c = 0; c < C; ++c) {
      float s = 0;
      for (int64_t d = 0; d < D; ++d) s += X[r * D + d] * M[c * D + d];
      out[r * C + c] = s;
    }
  }
  for (int64_t r = 0; r < R; ++r) {
    for (int64_t c = 0; c < C; ++c) out[r * C + c] += m[c];
  }
}

// acc[c][d, d + 16 S) += sum_r T[r][c] X_r[d, d + 16 S) for TC classes: the TC x S sums stay in
// registers while the rows stream through (two strips of 10 classes make 20 independent FMA
// chains per row and halve the broadcasts of T per FMA); T's rows are C apart. next, when given,
// is the following block's first row: its lines are fetched meanwhile, so the next logits tile
// reads cache instead of waiting on memory.
template <int S, int TC>
__attribute__((always_inline)) inline void accumulateStrips(const float* X, int64_t R, int64_t D, const float* T,
                                                            int64_t C, float* acc, const float* next, int64_t d) {
  Vec a[S][TC];
#pragma GCC unroll 16
  for (int c = 0; c < TC; ++c) {
    for (int s = 0; s < S; ++s) a[s][c] = load(acc + c * D + d + s * kLanes);
  }
  for (int64_t r = 0; r < R; ++r) {
    Vec x[S];
    for (int s = 0; s < S; ++s) {
      x[s] = load(X + r * D + d + s * kLanes);
      if (next != nullptr) __builtin_prefetch(next + r * D + d + s * kLanes);
    }
#pragma GCC unroll 16
    for (int c = 0; c < TC; ++c) {
      const float t = T[r * C + c];
      for (int s = 0; s < S; ++s) a[s][c] += t * x[s];
    }
  }
#pragma GCC unroll 16
  for (int c = 0; c < TC; ++c) {
    for (int s = 0; s < S; ++s) store(acc + c * D + d + s * kLanes, a[s][c]);
  }
}

// acc[c][:] += sum_r T[r][c] X_r for TC classes and the R rows of a block, which is in cache by
// now (its logits were just taken).
template <int TC>
struct AccumulateTile {
  __attribute__((always_inline)) static void run(const float* X, int64_t R, int64_t D, const float* T, int64_t C,
                                                 float* acc, const float* next) {
    const int64_t vectorEnd = D / kLanes * kLanes;
    int64_t d = 0;
    for (; d + 2 * kLanes <= vectorEnd; d += 2 * kLanes) accumulateStrips<2, TC>(X, R, D, T, C, acc, next, d);
    for (; d < vectorEnd; d += kLanes) accumulateStrips<1, TC>(X, R, D, T, C, acc, next, d);
    // The last columns one sum at a time: a chain over the rows, as the strips add (loops the
    // other way round let GCC vectorize across classes and round differently).
    for (; d < D; ++d) {
      for (int c = 0; c < TC; ++c) {
        float sum = acc[c * D + d];
        for (int64_t r = 0; r < R; ++r) sum += T[r * C + c] * X[r * D + d];
        acc[c * D + d] = sum;
      }
    }
  }
};
// Classes per accumulation tile: with two strips, 20 sums in registers as in the dot tile.
constexpr int kAccumulateTileClasses = 10;

BILEVEL_VECTOR_CLONES
void fullAccumulateTile(const float* X, int64_t R, int64_t D, const float* T, int64_t C, float* acc, const float* next) {
  AccumulateTile<kAccumulateTileClasses>::run(X, R, D, T, C, acc, next);
}

// AccumulateTile<width> for 1 <= width < kAccumulateTileClasses.
BILEVEL_VECTOR_CLONES
void narrowAccumulateTile(const float* X, int64_t R, int64_t D, const float* T, int64_t C, float* acc,
                          const float* next, int64_t width) {
  runTileOfWidth<AccumulateTile>(width, std::make_integer_sequence<int, kAccumulateTileClasses - 1>(), X, R, D, T, C,
                                 acc, next);
}

// acc[c][:] += sum_r T[r][c] X_r for the C classes, a tile of classes after the other (the block
// is in L2); the first tile prefetches the next block.
void accumulateTransposed(const float* X, int64_t R, int64_t D, const float* T, int64_t C, float* acc, const float* next) {
  const int64_t fullTiles = C / kAccumulateTileClasses * kAccumulateTileClasses;
  for (int64_t c = 0; c < fullTiles; c += kAccumulateTileClasses) {
    fullAccumulateTile(X, R, D, T + c, C, acc + c * D, c == 0 ? next : nullptr);
  }
  if (fullTiles < C) {
    narrowAccumulateTile(X, R, D, T + fullTiles, C, acc + fullTiles * D, fullTiles == 0 ? next : nullptr, C - fullTiles);
  }
}

// {grad, gradBias} += {T^T X_b, column sums of T} for a block of R rows and C classes.
void accumulateBlock(const float* xb, int64_t R, int64_t D, const float* t, int64_t C, float* sums, const float* next) {
  accumulateTransposed(xb, R, D, t, C, sums, next);
  for (int64_t r = 0; r < R; ++r) {
    for (int64_t c = 0; c < C; ++c) sums[C * D + c] += t[r * C + c];
  }
}

int64_t blockCount(int64_t rows) { return (rows + kBlock - 1) / kBlock; }

// Runs blockFn(block, sums, scratch) over the blocks of X's rows and returns {grad [C, D],
// gradBias [C]}, the sums the blocks added; scratch holds scratchFloats floats of the thread's own.
// Threads own blocks and their own sums, which are added in thread order, so a run is
// reproducible for a given thread count.
template <typename BlockFn>
std::pair<torch::Tensor, torch::Tensor> blockSums(const torch::Tensor& X, int64_t C, int64_t scratchFloats,
                                                  const BlockFn& blockFn) {
  const int64_t D = X.size(1);
  const int64_t stride = C * D + C;
  std::vector<float> partial(static_cast<size_t>(at::get_num_threads() * stride), 0.0f);
  at::parallel_for(0, blockCount(X.size(0)), 1, [&](int64_t begin, int64_t end) {
    float* sums = partial.data() + at::get_thread_num() * stride;
    std::vector<float> scratch(static_cast<size_t>(scratchFloats));
    for (int64_t block = begin; block < end; ++block) blockFn(block, sums, scratch.data());
  });
  torch::Tensor grad = torch::zeros({C, D}, X.options());
  torch::Tensor gradBias = torch::zeros({C}, X.options());
  float* g = grad.data_ptr<float>();
  float* gb = gradBias.data_ptr<float>();
  for (size_t offset = 0; offset < partial.size(); offset += stride) {
    for (int64_t j = 0; j < C * D; ++j) g[j] += partial[offset + j];
    for (int64_t c = 0; c < C; ++c) gb[c] += partial[offset + C * D + c];
  }
  return {grad, gradBias};
}

// One pass over X: per block of R rows from `first`, L = X_b M^T + m, then blockFn(first, R, L, T)
// fills T [R, C], then {grad, gradBias} += {T^T X_b, column sums of T} while the block is in cache.
template <typename BlockFn>
std::pair<torch::Tensor, torch::Tensor> fusedPass(const torch::Tensor& X, const torch::Tensor& M,
                                                  const torch::Tensor& m, const BlockFn& blockFn) {
  const int64_t N = X.size(0), D = X.size(1), C = M.size(0);
  const float* x = X.data_ptr<float>();
  const float* mp = M.data_ptr<float>();
  const float* bp = m.data_ptr<float>();
  return blockSums(X, C, 2 * kBlock * C, [&](int64_t block, float* sums, float* scratch) {
    float* logits = scratch;
    float* t = scratch + kBlock * C;
    const int64_t first = block * kBlock, R = std::min(kBlock, N - first);
    const float* xb = x + first * D;
    rowsTimesTransposed(xb, R, D, mp, bp, C, logits);
    blockFn(first, R, logits, t);
    // The next block is prefetched row for row, so only a full one (nothing past X's end).
    accumulateBlock(xb, R, D, t, C, sums, first + 2 * kBlock <= N ? xb + R * D : nullptr);
  });
}

// {T^T X, column sums of T} for a T [N, C] given row by row: one pass over X.
std::pair<torch::Tensor, torch::Tensor> accumulatePass(const torch::Tensor& X, const float* T, int64_t C) {
  const int64_t N = X.size(0), D = X.size(1);
  const float* x = X.data_ptr<float>();
  return blockSums(X, C, 0, [&](int64_t block, float* sums, float*) {
    const int64_t first = block * kBlock, R = std::min(kBlock, N - first);
    accumulateBlock(x + first * D, R, D, T + first * C, C, sums, nullptr);
  });
}

// blockFn(first, R, L) for the blocks of L = X M^T + m: one pass over X, nothing accumulated.
template <typename BlockFn>
void logitsPass(const torch::Tensor& X, const torch::Tensor& M, const torch::Tensor& m, const BlockFn& blockFn) {
  const int64_t N = X.size(0), D = X.size(1), C = M.size(0);
  const float* x = X.data_ptr<float>();
  const float* mp = M.data_ptr<float>();
  const float* bp = m.data_ptr<float>();
  at::parallel_for(0, blockCount(N), 1, [&](int64_t begin, int64_t end) {
    std::vector<float> logits(static_cast<size_t>(kBlock * C));
    for (int64_t block = begin; block < end; ++block) {
      const int64_t first = block * kBlock, R = std::min(kBlock, N - first);
      rowsTimesTransposed(x + first * D, R, D, mp, bp, C, logits.data());
      blockFn(first, R, logits.data());
    }
  });
}

// P_r = softmax(L_r) for R rows of C classes, and logSumExp_r = log sum_c exp L_rc when logSumExp is given.
void softmaxRowsScalar(const float* logits, int64_t R, int64_t C, float* P, float* logSumExp) {
  for (int64_t r = 0; r < R; ++r) {
    const float* l = logits + r * C;
    float* p = P + r * C;
    const float top = *std::max_element(l, l + C);
    float total = 0;
    for (int64_t c = 0; c < C; ++c) total += (p[c] = std::exp(l[c] - top));
    const float inverse = 1.0f / total;
    for (int64_t c = 0; c < C; ++c) p[c] *= inverse;
    if (logSumExp != nullptr) logSumExp[r] = std::log(total) + top;
  }
}

#ifdef BILEVEL_VECTOR_SOFTMAX
// The lanes of the 16 classes from c on that are among C.
inline __mmask16 classLanes(int64_t c, int64_t C) {
  return C - c >= kLanes ? __mmask16(0xffff) : __mmask16((1u << (C - c)) - 1);
}

// The same with a row's C <= 16 classes in the lanes of one masked vector.
__attribute__((target("avx512f"))) void softmaxRowsOneVector(const float* logits, int64_t R, int64_t C, float* P,
                                                             float* logSumExp) {
  const __mmask16 classes = classLanes(0, C);
  for (int64_t r = 0; r < R; ++r) {
    const __m512 l = _mm512_maskz_loadu_ps(classes, logits + r * C);
    const float top = _mm512_mask_reduce_max_ps(classes, l);
    const __m512 e = Sleef_expf16_u10avx512f(_mm512_sub_ps(l, _mm512_set1_ps(top)));
    const float total = _mm512_mask_reduce_add_ps(classes, e);
    _mm512_mask_storeu_ps(P + r * C, classes, _mm512_mul_ps(e, _mm512_set1_ps(1.0f / total)));
    if (logSumExp != nullptr) logSumExp[r] = std::log(total) + top;
  }
}

// The same for C > 16 classes, 16 at a time: the row's maximum, then its exponentials (kept in
// P) and their sum, then P scaled by the sum's inverse.
__attribute__((target("avx512f"))) void softmaxRowsVectors(const float* logits, int64_t R, int64_t C, float* P,
                                                           float* logSumExp) {
  for (int64_t r = 0; r < R; ++r) {
    const float* l = logits + r * C;
    float* p = P + r * C;
    __m512 tops = _mm512_set1_ps(-INFINITY);
    for (int64_t c = 0; c < C; c += kLanes) {
      const __mmask16 lanes = classLanes(c, C);
      tops = _mm512_mask_max_ps(tops, lanes, tops, _mm512_maskz_loadu_ps(lanes, l + c));
    }
    const float top = _mm512_reduce_max_ps(tops);
    __m512 totals = _mm512_setzero_ps();
    for (int64_t c = 0; c < C; c += kLanes) {
      const __mmask16 lanes = classLanes(c, C);
      const __m512 e = Sleef_expf16_u10avx512f(_mm512_sub_ps(_mm512_maskz_loadu_ps(lanes, l + c), _mm512_set1_ps(top)));
      totals = _mm512_mask_add_ps(totals, lanes, totals, e);
      _mm512_mask_storeu_ps(p + c, lanes, e);
    }
    const float total = _mm512_reduce_add_ps(totals);
    const __m512 inverse = _mm512_set1_ps(1.0f / total);
    for (int64_t c = 0; c < C; c += kLanes) {
      const __mmask16 lanes = classLanes(c, C);
      _mm512_mask_storeu_ps(p + c, lanes, _mm512_mul_ps(_mm512_maskz_loadu_ps(lanes, p + c), inverse));
    }
    if (logSumExp != nullptr) logSumExp[r] = std::log(total) + top;
  }
}
#endif

void softmaxRows(const float* logits, int64_t R, int64_t C, float* P, float* logSumExp) {
#ifdef BILEVEL_VECTOR_SOFTMAX
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  // One vector's classes stay in a register throughout; more go through P.
  if (avx512) return C <= kLanes ? softmaxRowsOneVector(logits, R, C, P, logSumExp) : softmaxRowsVectors(logits, R, C, P, logSumExp);
#endif
  softmaxRowsScalar(logits, R, C, P, logSumExp);
}

// t = scale (p - e_label): the gradient in the logits of scale CE, given the softmax p of C classes.
inline void crossEntropyLogitGradient(const float* p, int64_t label, float scale, int64_t C, float* t) {
  for (int64_t c = 0; c < C; ++c) t[c] = scale * p[c];
  t[label] -= scale;
}

struct Inputs {
  torch::Tensor features, labels, weights;
};

Inputs contiguousInputs(const torch::Tensor& features, const torch::Tensor& labels, const torch::Tensor& weights) {
  return {features.contiguous(), labels.to(torch::kInt64).contiguous(), weights.detach().contiguous()};
}

// Forward of the gradient: {grad_W, grad_b, P} with P the softmax of the logits (kept for the backward).
TensorList gradientForward(const Inputs& in, const torch::Tensor& W, const torch::Tensor& b) {
  const int64_t N = in.features.size(0), C = W.size(0);
  torch::Tensor probabilities = torch::empty({N, C}, in.features.options());
  float* P = probabilities.data_ptr<float>();
  const float* w = in.weights.data_ptr<float>();
  const int64_t* label = in.labels.data_ptr<int64_t>();
  const float inverseN = 1.0f / static_cast<float>(N);
  auto [grad, gradBias] = fusedPass(in.features, W.detach().contiguous(), b.detach().contiguous(),
                                    [&](int64_t first, int64_t R, const float* logits, float* t) {
                                      softmaxRows(logits, R, C, P + first * C, nullptr);
                                      for (int64_t i = first; i < first + R; ++i, t += C) {
                                        crossEntropyLogitGradient(P + i * C, label[i], w[i] * inverseN, C, t);
                                      }
                                    });
  return {grad, gradBias, probabilities};
}

// Backward of {grad_W, grad_b} against cotangents (U, u): with V = X U^T + u,
//   d/dw_i = <P_i - e_label, V_i> / N,   {d/dW, d/db} = {H^T X, column sums of H},
//   H_i = (w_i / N) P_i * (V_i - <P_i, V_i>)   (the softmax Jacobian applied to w_i V_i / N).
TensorList gradientBackward(const Inputs& in, const torch::Tensor& probabilities, const torch::Tensor& U,
                            const torch::Tensor& u) {
  const int64_t N = in.features.size(0), C = probabilities.size(1);
  torch::Tensor gradWeights = torch::empty({N}, in.features.options());
  float* dw = gradWeights.data_ptr<float>();
  const float* P = probabilities.data_ptr<float>();
  const float* w = in.weights.data_ptr<float>();
  const int64_t* label = in.labels.data_ptr<int64_t>();
  const float inverseN = 1.0f / static_cast<float>(N);
  auto [gradW, gradB] = fusedPass(in.features, U.contiguous(), u.contiguous(),
                                  [&](int64_t first, int64_t R, const float* V, float* t) {
                                    for (int64_t i = first; i < first + R; ++i, V += C, t += C) {
                                      const float* p = P + i * C;
                                      float projected = 0;
                                      for (int64_t c = 0; c < C; ++c) projected += p[c] * V[c];
                                      dw[i] = (projected - V[label[i]]) * inverseN;
                                      const float scale = w[i] * inverseN;
                                      for (int64_t c = 0; c < C; ++c) t[c] = scale * p[c] * (V[c] - projected);
                                    }
                                  });
  return {gradWeights, gradW, gradB};
}

// The same backward in autograd ops, for backward passes that record a graph (forward-mode
// hypergradients differentiate the backward once more).
TensorList recordedGradientBackward(const torch::Tensor& X, const torch::Tensor& labels, const torch::Tensor& weights,
                                    const torch::Tensor& W, const torch::Tensor& b, const torch::Tensor& U,
                                    const torch::Tensor& u) {
  const double inverseN = 1.0 / static_cast<double>(X.size(0));
  const torch::Tensor P = torch::softmax(torch::addmm(b, X, W.t()), 1);
  const torch::Tensor residual = P - torch::one_hot(labels, W.size(0)).to(P.scalar_type());
  const torch::Tensor V = torch::addmm(u, X, U.t());
  const torch::Tensor projected = (P * V).sum(1, true);
  const torch::Tensor H = weights.unsqueeze(1) * P * (V - projected) * inverseN;
  return {(residual * V).sum(1) * inverseN, H.t().mm(X), H.sum(0)};
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The cotangent given, or zeros shaped like the output it belongs to when autograd passed none.
torch::Tensor cotangentOr(const torch::Tensor& cotangent, const torch::Tensor& like) {
  return cotangent.defined() ? cotangent : torch::zeros_like(like);
}

struct FusedGradient : public torch::autograd::Function<FusedGradient> {
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& weights, const torch::Tensor& W,
                               const torch::Tensor& b, const torch::Tensor& features, const torch::Tensor& labels) {
    const Inputs in = contiguousInputs(features, labels, weights);
    TensorList out = gradientForward(in, W, b);
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
    const torch::Tensor U = cotangentOr(cotangents[0], saved[1]);
    const torch::Tensor u = cotangentOr(cotangents[1], saved[2]);
    TensorList grads = torch::GradMode::is_enabled()
                           ? recordedGradientBackward(features, labels, saved[0], saved[1], saved[2], U, u)
                           : gradientBackward(contiguousInputs(features, labels, saved[0]),
                                              ctx->saved_data["probabilities"].toTensor(), U, u);
    return {grads[0], grads[1], grads[2], torch::Tensor(), torch::Tensor()};
  }
};

// The loss's backward in autograd ops, for backward passes that record a graph.
TensorList recordedLossBackward(const torch::Tensor& X, const torch::Tensor& labels, const torch::Tensor& weights,
                                const torch::Tensor& W, const torch::Tensor& b, const torch::Tensor& g) {
  const torch::Tensor scale = g / static_cast<double>(X.size(0));
  const torch::Tensor logP = torch::log_softmax(torch::addmm(b, X, W.t()), 1);
  const torch::Tensor losses = -logP.gather(1, labels.unsqueeze(1)).squeeze(1);
  const torch::Tensor residual = (logP.exp() - torch::one_hot(labels, W.size(0)).to(logP.scalar_type())) *
                                 (weights * scale).unsqueeze(1);
  return {losses * scale, residual.t().mm(X), residual.sum(0)};
}

// f itself: the forward keeps the softmax P and the per-row CE_i, so the backward is one
// accumulation pass over X: {d/dW, d/db} = g {R^T X, column sums of R}, R_i = (w_i / N)(P_i - e_label),
// and d/dw_i = g CE_i / N.
struct FusedLoss : public torch::autograd::Function<FusedLoss> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& weights, const torch::Tensor& W,
                               const torch::Tensor& b, const torch::Tensor& features, const torch::Tensor& labels) {
    const Inputs in = contiguousInputs(features, labels, weights);
    const int64_t N = in.features.size(0), C = W.size(0);
    torch::Tensor probabilities = torch::empty({N, C}, in.features.options());
    torch::Tensor losses = torch::empty({N}, in.features.options());
    float* P = probabilities.data_ptr<float>();
    float* ce = losses.data_ptr<float>();
    const int64_t* label = in.labels.data_ptr<int64_t>();
    logitsPass(in.features, W.detach().contiguous(), b.detach().contiguous(),
               [&](int64_t first, int64_t R, const float* logits) {
                 softmaxRows(logits, R, C, P + first * C, ce + first);
                 for (int64_t r = 0; r < R; ++r) ce[first + r] -= logits[r * C + label[first + r]];
               });
    ctx->save_for_backward({weights, W, b});
    ctx->saved_data["features"] = in.features;
    ctx->saved_data["labels"] = in.labels;
    ctx->saved_data["probabilities"] = probabilities;
    ctx->saved_data["losses"] = losses;
    return (in.weights.to(torch::kFloat64) * losses.to(torch::kFloat64)).mean().to(losses.scalar_type());
  }

  static variable_list backward(AutogradContext* ctx, variable_list cotangents) {
    const variable_list saved = ctx->get_saved_variables();
    const torch::Tensor features = ctx->saved_data["features"].toTensor();
    const torch::Tensor labels = ctx->saved_data["labels"].toTensor();
    const torch::Tensor g = cotangents[0];
    if (torch::GradMode::is_enabled()) {
      const TensorList grads = recordedLossBackward(features, labels, saved[0], saved[1], saved[2], g);
      return {grads[0], grads[1], grads[2], torch::Tensor(), torch::Tensor()};
    }
    const Inputs in = contiguousInputs(features, labels, saved[0]);
    const int64_t N = features.size(0);
    const float scale = g.item<float>() / static_cast<float>(N);
    const torch::Tensor probabilities = ctx->saved_data["probabilities"].toTensor();
    const int64_t C = probabilities.size(1);
    torch::Tensor residual = torch::empty_like(probabilities);
    const float* P = probabilities.data_ptr<float>();
    float* R = residual.data_ptr<float>();
    const float* w = in.weights.data_ptr<float>();
    const int64_t* label = in.labels.data_ptr<int64_t>();
    for (int64_t i = 0; i < N; ++i) crossEntropyLogitGradient(P + i * C, label[i], w[i] * scale, C, R + i * C);
    auto [gradW, gradB] = accumulatePass(in.features, R, C);
    return {ctx->saved_data["losses"].toTensor() * scale, gradW, gradB, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

bool fusedLinearCrossEntropyApplies(const torch::Tensor& features, int64_t classes) {
  return classes >= kMinClasses && classes <= kMaxClasses && features.dim() == 2 && features.scalar_type() == torch::kFloat32 &&
         features.device().is_cpu();
}

torch::Tensor linearCrossEntropy(const torch::Tensor& features, const torch::Tensor& labels,
                                 const torch::Tensor& weights, const torch::Tensor& W, const torch::Tensor& b) {
  return FusedLoss::apply(weights, W, b, features, labels);
}

TensorList linearCrossEntropyGradient(const torch::Tensor& features, const torch::Tensor& labels,
                                      const torch::Tensor& weights, const torch::Tensor& W, const torch::Tensor& b) {
  return FusedGradient::apply(weights, W, b, features, labels);
}

}  // namespace bilevel::core

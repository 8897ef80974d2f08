// The fused linear cross-entropy kernel: its value, gradient and Hessian-vector products (the
// fused first-order backward and the recorded one) against autograd on the same inputs for class
// counts around its tile and vector widths, and, for 10 classes, the exact bits the kernel gave
// before it served other class counts.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include "core/linear_cross_entropy.h"
#include "support.h"

namespace bilevel::core {
namespace {

// A weighted classification problem and a direction (U, u) for Hessian-vector products.
struct Inputs {
  torch::Tensor features, labels, weights, W, b, U, u;
};

// N = 103 rows make three full blocks of 32 and a partial one (a 4-row tile and 3 single rows);
// D = 50 features make a two-vector strip, a one-vector strip and a scalar tail.
Inputs randomInputs(int64_t classes, int64_t N = 103, int64_t D = 50) {
  at::Generator gen = at::detail::createCPUGenerator(7);
  const auto f32 = torch::kFloat32;
  return {torch::rand({N, D}, gen, f32),
          torch::randint(classes, {N}, gen, torch::kInt64),
          torch::rand({N}, gen, f32),
          torch::randn({classes, D}, gen, f32) * 0.3,
          torch::randn({classes}, gen, f32) * 0.3,
          torch::randn({classes, D}, gen, f32),
          torch::randn({classes}, gen, f32)};
}

// The outputs the kernel computes: f, its gradient in (weights, W, b), grad_(W, b) f and the
// product of that gradient's Jacobian in (weights, W, b) with (U, u).
struct Outputs {
  TensorList leaves;  // weights, W, b
  torch::Tensor value;
  TensorList lossGradient, gradient, hessianVector;
};

// leaves: weights, W, b, requiring grad. createGraph: the Hessian-vector product records a graph.
Outputs fusedOutputs(const Inputs& in, bool createGraph) {
  Outputs out;
  const TensorList& leaves = out.leaves = core::leaves({in.weights, in.W, in.b});
  out.value = linearCrossEntropy(in.features, in.labels, leaves[0], leaves[1], leaves[2]);
  out.lossGradient = gradients(out.value, leaves, false, false);
  out.gradient = linearCrossEntropyGradient(in.features, in.labels, leaves[0], leaves[1], leaves[2]);
  out.hessianVector = torch::autograd::grad(out.gradient, leaves, {in.U, in.u}, true, createGraph);
  return out;
}

// The same by autograd in float64.
Outputs referenceOutputs(const Inputs& in) {
  Outputs out;
  const TensorList& leaves = out.leaves =
      core::leaves({in.weights.to(torch::kFloat64), in.W.to(torch::kFloat64), in.b.to(torch::kFloat64)});
  const torch::Tensor logits = torch::addmm(leaves[2], in.features.to(torch::kFloat64), leaves[1].t());
  const torch::Tensor losses = torch::nn::functional::cross_entropy(
      logits, in.labels, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  out.value = (leaves[0] * losses).mean();
  out.lossGradient = gradients(out.value, leaves, false, true);
  out.gradient = gradients(out.value, {leaves[1], leaves[2]}, true, true);
  out.hessianVector =
      torch::autograd::grad(out.gradient, leaves, {in.U.to(torch::kFloat64), in.u.to(torch::kFloat64)}, true, true);
  return out;
}

::testing::AssertionResult close(const TensorList& actual, const TensorList& expected, const std::string& what) {
  for (size_t i = 0; i < expected.size(); ++i) {
    const torch::Tensor a = actual[i].detach().to(torch::kFloat64);
    // float32 sums over up to 300 rows and 50 features: relative 1e-4 of the largest entry.
    const double scale = expected[i].abs().max().item<double>();
    const double error = (a - expected[i]).abs().max().item<double>();
    if (a.sizes() != expected[i].sizes() || !(error <= 1e-4 * scale + 1e-6)) {
      return ::testing::AssertionFailure() << what << "[" << i << "]: max error " << error << " against scale " << scale;
    }
  }
  return ::testing::AssertionSuccess();
}

class ClassCountTest : public ::testing::TestWithParam<int64_t> {};

TEST_P(ClassCountTest, AppliesToFloat32OnTheCpu) {
  const Inputs in = randomInputs(GetParam());
  EXPECT_TRUE(fusedLinearCrossEntropyApplies(in.features, GetParam()));
  EXPECT_FALSE(fusedLinearCrossEntropyApplies(in.features.to(torch::kFloat64), GetParam()));
}

TEST_P(ClassCountTest, MatchesAutograd) {
  const Inputs in = randomInputs(GetParam());
  const Outputs expected = referenceOutputs(in);
  for (const bool createGraph : {false, true}) {
    SCOPED_TRACE(createGraph ? "recorded backward" : "fused backward");
    const Outputs actual = fusedOutputs(in, createGraph);
    EXPECT_TRUE(close({actual.value}, {expected.value}, "f"));
    EXPECT_TRUE(close(actual.lossGradient, expected.lossGradient, "grad f"));
    EXPECT_TRUE(close(actual.gradient, expected.gradient, "grad_(W, b) f"));
    EXPECT_TRUE(close(actual.hessianVector, expected.hessianVector, "Hessian-vector product"));
  }
}

// The recorded backward differentiated once more (forward-mode hypergradients do): the gradient
// in W of the Hessian-vector product's sum, a third derivative, against autograd's.
TEST_P(ClassCountTest, RecordedBackwardDifferentiatesAgain) {
  const Inputs in = randomInputs(GetParam());
  const Outputs actual = fusedOutputs(in, true);
  const Outputs expected = referenceOutputs(in);
  const auto third = [](const Outputs& o) { return gradients(o.hessianVector[1].sum(), {o.leaves[1]}, false, false); };
  EXPECT_TRUE(close(third(actual), third(expected), "third derivative"));
}

// Two threads, each with its own blocks, scratch and partial sums (the tests run on one).
TEST_P(ClassCountTest, MatchesAutogradOnTwoThreads) {
  at::set_num_threads(2);
  const Inputs in = randomInputs(GetParam(), 300);
  const Outputs expected = referenceOutputs(in);
  const Outputs actual = fusedOutputs(in, false);
  EXPECT_TRUE(close({actual.value}, {expected.value}, "f"));
  EXPECT_TRUE(close(actual.lossGradient, expected.lossGradient, "grad f"));
  EXPECT_TRUE(close(actual.hessianVector, expected.hessianVector, "Hessian-vector product"));
}

INSTANTIATE_TEST_SUITE_P(Classes, ClassCountTest, ::testing::Values(2, 3, 7, 10, 16, 17, 100));

TEST(LinearCrossEntropyTest, AppliesToTwoTo1024ClassesOfFlatFeatures) {
  const torch::Tensor features = torch::rand({4, 3});
  EXPECT_FALSE(fusedLinearCrossEntropyApplies(features, 1));
  EXPECT_TRUE(fusedLinearCrossEntropyApplies(features, 1024));
  EXPECT_FALSE(fusedLinearCrossEntropyApplies(features, 1025));
  EXPECT_FALSE(fusedLinearCrossEntropyApplies(features.reshape({2, 2, 3}), 10));
}

// FNV-1a over the bits of a float32 tensor's elements.
uint64_t bitsHash(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().contiguous();
  const auto* bytes = static_cast<const unsigned char*>(c.data_ptr());
  uint64_t hash = 14695981039346656037ull;
  for (size_t i = 0; i < c.nbytes(); ++i) hash = (hash ^ bytes[i]) * 1099511628211ull;
  return hash;
}

// Recorded from the kernel when it served 10 classes only (Release build with GCC 12, its AVX-512
// clone and SLEEF softmax, one thread): serving other class counts left the 10-class arithmetic
// as it was.
TEST(LinearCrossEntropyTest, TenClassesKeepTheirBits) {
#ifndef BILEVEL_RECORDED_BUILD
  GTEST_SKIP() << "recorded in the Release build with the SLEEF softmax";
#endif
  if (!__builtin_cpu_supports("avx512f")) GTEST_SKIP() << "recorded with the AVX-512 kernels";
  at::set_num_threads(1);
  const Outputs out = fusedOutputs(randomInputs(10), false);
  EXPECT_EQ(out.value.item<float>(), 0x1.6c6032p+0f);
  const std::vector<std::pair<const TensorList*, std::vector<uint64_t>>> recorded{
      {&out.lossGradient, {0x6babe75fa09403cdull, 0x930c366acf0f0390ull, 0x9eeb305c5f83f626ull}},
      {&out.gradient, {0x930c366acf0f0390ull, 0x9eeb305c5f83f626ull}},
      {&out.hessianVector, {0xba0c4aa1c74140c8ull, 0xd00ecc6a01dc7debull, 0x208cea76e4f6a80eull}}};
  for (const auto& [outputs, hashes] : recorded) {
    for (size_t i = 0; i < hashes.size(); ++i) EXPECT_EQ(bitsHash((*outputs)[i]), hashes[i]) << "output " << i;
  }
}

}  // namespace
}  // namespace bilevel::core

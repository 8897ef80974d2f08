// The heads' regularizers on hand-computed heads, and their derivatives at a zero head (where the
// heads start): zero, and finite to second order, as the hypergradients need them.
#include "core/tasks/few_shot/head_regularizer.h"

#include "../../support.h"

namespace bilevel::core {
namespace {

const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);

TEST(HeadRegularizerTest, LqIsTheQNormOfEachTasksWholeHead) {
  // Task 0: W = [[4, 0]], b = [1]; task 1: all zero. ||(4, 0, 1)||_0.5 = (2 + 0 + 1)^2 = 9.
  const torch::Tensor W = torch::tensor({4.0, 0.0, 0.0, 0.0}, f64).view({2, 1, 2});
  const torch::Tensor b = torch::tensor({1.0, 0.0}, f64).view({2, 1});
  EXPECT_NEAR(headRegularizer({"lq", 0.5, 0.5, 0.1}, W, b).item<double>(), 0.5 * 9.0, 1e-12);
  EXPECT_NEAR(headRegularizer({"lq", 1.0, 1.0, 0.1}, W, b).item<double>(), 5.0, 1e-12);  // q = 1: the l1 norm
}

TEST(HeadRegularizerTest, SmoothedLqSumsOverTheHeadTensorsOfEachTask) {
  // One task, W = [[3, 4]] (norm 5, 2 entries), b = [0] (1 entry); q = 0.5, epsilon 0.1, weight 2.
  const torch::Tensor W = torch::tensor({3.0, 4.0}, f64).view({1, 1, 2});
  const torch::Tensor b = torch::zeros({1, 1}, f64);
  const double expected = 2 * (std::pow(5 + 0.1 * std::sqrt(2.0), 0.25) + std::pow(0.1, 0.25));
  EXPECT_NEAR(headRegularizer({"smoothed-lq", 2.0, 0.5, 0.1}, W, b).item<double>(), expected, 1e-12);
}

TEST(HeadRegularizerTest, NoneIsZero) {
  EXPECT_EQ(headRegularizer({}, torch::ones({2, 3, 4}, f64), torch::ones({2, 3}, f64)).item<double>(), 0.0);
}

TEST(HeadRegularizerTest, DerivativesAtAZeroHeadAreFiniteToSecondOrder) {
  for (const char* form : {"lq", "smoothed-lq"}) {
    for (double q : {0.3, 0.5, 0.7, 1.0}) {
      const torch::Tensor W = torch::zeros({2, 3, 4}, f64).requires_grad_();
      const torch::Tensor b = torch::zeros({2, 3}, f64).requires_grad_();
      const torch::Tensor value = headRegularizer({form, 0.25, q, 0.1}, W, b);
      const auto gradients = torch::autograd::grad({value}, {W, b}, {}, true, true);
      // A Hessian-vector product, as reverse mode through an LL step takes it.
      const torch::Tensor dot = (gradients[0] * torch::ones_like(W)).sum() + (gradients[1] * torch::ones_like(b)).sum();
      const auto second = torch::autograd::grad({dot}, {W, b}, {}, false, false, true);
      for (const torch::Tensor& g : {gradients[0], gradients[1]}) EXPECT_TRUE(torch::isfinite(g).all().item<bool>()) << form << " q " << q;
      for (const torch::Tensor& h : second) {
        if (h.defined()) EXPECT_TRUE(torch::isfinite(h).all().item<bool>()) << form << " q " << q;
      }
      if (std::string(form) == "lq") EXPECT_EQ(gradients[0].abs().max().item<double>(), 0.0);  // the zero subgradient
    }
  }
}

TEST(HeadRegularizerTest, AnUnknownFormIsRefused) {
  EXPECT_THROW(headRegularizer({"l2"}, torch::zeros({1, 1, 1}, f64), torch::zeros({1, 1}, f64)), Error);
}

}  // namespace
}  // namespace bilevel::core

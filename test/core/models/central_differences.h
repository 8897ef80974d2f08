// Gradients checked against central differences, as the model tests check them.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "core/tensor_list.h"

namespace bilevel::test {

// Whether grads[i] at entry (of params[i] flattened) is (loss(p + h e) - loss(p - h e)) / 2h,
// h = 1e-6, within 1e-6 + 1e-5 |that| (float64 parameters).
inline ::testing::AssertionResult matchesCentralDifference(const std::function<torch::Tensor(const core::TensorList&)>& loss,
                                                          const core::TensorList& params, const core::TensorList& grads, size_t i,
                                                          int64_t entry) {
  const double h = 1e-6;
  const auto shifted = [&](double by) {
    core::TensorList p = core::cloned(params);
    p[i].view(-1)[entry] += by;
    return loss(p).item<double>();
  };
  const double numeric = (shifted(h) - shifted(-h)) / (2 * h);
  const double analytic = grads[i].view(-1)[entry].item<double>();
  if (std::abs(analytic - numeric) <= 1e-6 + 1e-5 * std::abs(numeric)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "gradient " << analytic << ", central difference " << numeric;
}

}  // namespace bilevel::test

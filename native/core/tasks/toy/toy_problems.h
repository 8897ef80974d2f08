// The reference problems of docs/algorithms.md §8 (Eqs. 18-20 and sl-BAMM's convex test), with
// their closed-form LL gradients and known optima (the optima live in lib/problems.ts).
#pragma once
#include <memory>
#include <string>

#include "core/option_fields.h"
#include "core/problem.h"

namespace bilevel::core {

// Options shared by the built-in reference problems of docs/algorithms.md §8.
struct ToyOptions {
  std::string name;  // "convex", "singleton", "nonconvex", "bammConvex"
  int64_t n = 0;     // 0: the problem's default dimension
  double a = 2.0;    // nonconvex: a
  double c = 2.0;    // nonconvex: every c_i
  TensorList x0;     // empty: the paper's start
  TensorList y0;
  bool closedForm = true;  // closed-form LL gradients where the problem has them; false: autograd
  torch::Dtype dtype = torch::kFloat64;
  torch::Device device = torch::kCPU;
};

std::shared_ptr<Problem> makeToyProblem(const ToyOptions& options);

// A reference problem's fields: n (defaultDimension when absent), x0, y0, closedForm, and for the
// nonconvex problem a and c.
OptionFields<ToyOptions> toyFields(int64_t defaultDimension, bool nonconvex);

}  // namespace bilevel::core

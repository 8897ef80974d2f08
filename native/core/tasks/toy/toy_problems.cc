// The reference problems of docs/algorithms.md §8, with closed-form LL gradients.
#include "core/tasks/toy/toy_problems.h"

#include "core/error.h"

namespace bilevel::core {
namespace {

torch::Tensor fourthPowerNorm(const torch::Tensor& v) { return v.pow(2).sum().pow(2); }

// Eq. 18 (convex, not singleton), Eq. 19 (singleton) and sl-BAMM's merely convex test share
// the variable layout x in R^n, y = (y1, y2).
class ToyProblem : public Problem {
 public:
  enum class Kind { Convex, Singleton, BammConvex };

  ToyProblem(Kind kind, Variables upper, Variables lower, torch::Tensor ones)
      : Problem(std::move(upper), std::move(lower)), kind_(kind), e_(std::move(ones)) {}

 protected:
  torch::Tensor evaluateUpper(const TensorList& x, const TensorList& y, const Batch&) override {
    const auto& y1 = y[0];
    const auto& y2 = y[1];
    switch (kind_) {
      case Kind::Convex: return fourthPowerNorm(x[0] - y2) + fourthPowerNorm(y1 - e_);
      case Kind::Singleton: return -x[0].sum() + fourthPowerNorm(x[0] - y2) + fourthPowerNorm(y1 - e_);
      case Kind::BammConvex: return 0.5 * (x[0] - y2).pow(2).sum() + 0.5 * (y1 - e_).pow(2).sum();
    }
    throw Error("NATIVE", "unknown toy problem");
  }
  torch::Tensor evaluateLower(const TensorList& x, const TensorList& y, const Batch&) override {
    if (kind_ == Kind::Singleton) return fourthPowerNorm(y[0] + y[1] - x[0]);
    return 0.5 * y[0].pow(2).sum() - (x[0] * y[0]).sum();
  }

 private:
  Kind kind_;
  torch::Tensor e_;
};

// Eq. 20: F = (x - a)^2 + ||y - a - c||^2, f = sum_i sin(x + y_i - c_i), y in [-10, 10]^n.
class NonconvexProblem : public Problem {
 public:
  NonconvexProblem(Variables upper, Variables lower, double a, torch::Tensor c, bool closedForm)
      : Problem(std::move(upper), std::move(lower)), a_(a), c_(std::move(c)), closedForm_(closedForm) {}

  // grad_y f = cos(x + y - c): one op instead of an autograd pass per LL step.
  TensorList lowerGradient(const TensorList& x, const TensorList& y, const Batch& batch, bool createGraph) override {
    if (!closedForm_) return Problem::lowerGradient(x, y, batch, createGraph);
    if (createGraph) return {torch::cos(x[0] + y[0] - c_)};
    torch::NoGradGuard noGrad;
    return {torch::cos(x[0].detach() + y[0].detach() - c_)};
  }
  TensorList upperGradient(const TensorList& x, const TensorList& y, const Batch& batch, bool createGraph) override {
    if (!closedForm_) return Problem::upperGradient(x, y, batch, createGraph);
    if (createGraph) return {2.0 * (y[0] - a_ - c_)};
    torch::NoGradGuard noGrad;
    return {2.0 * (y[0].detach() - a_ - c_)};
  }

 protected:
  torch::Tensor evaluateUpper(const TensorList& x, const TensorList& y, const Batch&) override {
    return (x[0] - a_).pow(2).sum() + (y[0] - a_ - c_).pow(2).sum();
  }
  torch::Tensor evaluateLower(const TensorList& x, const TensorList& y, const Batch&) override {
    return torch::sin(x[0] + y[0] - c_).sum();
  }

 private:
  double a_;
  torch::Tensor c_;
  bool closedForm_;
};

TensorList startOr(const TensorList& given, TensorList fallback, const char* field) {
  if (given.empty()) return fallback;
  if (given.size() != fallback.size()) {
    throw Error("INVALID_ARGUMENT", std::string(field) + ": expected " + std::to_string(fallback.size()) +
                                        " tensors, got " + std::to_string(given.size()));
  }
  TensorList out;
  for (size_t i = 0; i < given.size(); ++i) {
    if (given[i].numel() != fallback[i].numel()) {
      throw Error("SHAPE_MISMATCH", std::string(field) + "[" + std::to_string(i) + "]: expected " +
                                        std::to_string(fallback[i].numel()) + " elements, got " +
                                        std::to_string(given[i].numel()));
    }
    out.push_back(given[i].detach().to(fallback[i].options()).reshape(fallback[i].sizes()).clone());
  }
  return out;
}

Box box(double lo, double hi, const torch::TensorOptions& options) {
  return Box{torch::scalar_tensor(lo, options), torch::scalar_tensor(hi, options)};
}

}  // namespace

OptionFields<ToyOptions> toyFields(int64_t defaultDimension, bool nonconvex) {
  using O = ToyOptions;
  OptionFields<O> fields = {{"n", &O::n, static_cast<double>(defaultDimension), between(1, kMaxToyDimension)},
                            {"x0", &O::x0, std::nullopt, {}},
                            {"y0", &O::y0, std::nullopt, {}},
                            {"closedForm", &O::closedForm, std::nullopt, {}}};
  if (nonconvex) {
    fields.push_back({"a", &O::a, 2.0, {}});
    fields.push_back({"c", &O::c, 2.0, {}});
  }
  return fields;
}

std::shared_ptr<Problem> makeToyProblem(const ToyOptions& o) {
  const auto options = torch::TensorOptions().dtype(o.dtype).device(o.device);
  const std::string& name = o.name;
  if (o.n < 0) throw Error("INVALID_ARGUMENT", "n must be a positive integer");
  if (name == "nonconvex") {
    const int64_t n = o.n ? o.n : 1;
    Variables upper{startOr(o.x0, {torch::full({1}, -6.0, options)}, "x0"), {}};
    Variables lower{startOr(o.y0, {torch::zeros({n}, options)}, "y0"), {box(-10, 10, options)}};
    return std::make_shared<NonconvexProblem>(std::move(upper), std::move(lower), o.a, torch::full({n}, o.c, options),
                                              o.closedForm);
  }
  const int64_t n = o.n ? o.n : (name == "bammConvex" ? 100 : 20);
  auto e = torch::ones({n}, options);
  if (name == "convex") {
    Variables upper{startOr(o.x0, {2 * e}, "x0"), {box(-10, 10, options)}};
    Variables lower{startOr(o.y0, {2 * e, 2 * e}, "y0"), {}};
    return std::make_shared<ToyProblem>(ToyProblem::Kind::Convex, std::move(upper), std::move(lower), e);
  }
  if (name == "singleton") {
    Variables upper{startOr(o.x0, {-e}, "x0"), {box(-1, 1, options)}};
    Variables lower{startOr(o.y0, {-e, -2 * e}, "y0"), {}};
    return std::make_shared<ToyProblem>(ToyProblem::Kind::Singleton, std::move(upper), std::move(lower), e);
  }
  if (name == "bammConvex") {
    Variables upper{startOr(o.x0, {0.01 * e}, "x0"), {}};
    Variables lower{startOr(o.y0, {0.01 * e, 0.01 * e}, "y0"), {}};
    return std::make_shared<ToyProblem>(ToyProblem::Kind::BammConvex, std::move(upper), std::move(lower), e);
  }
  throw Error("INVALID_ARGUMENT",
              "problem name must be one of convex, singleton, nonconvex, bammConvex; got '" + name + "'");
}

}  // namespace bilevel::core

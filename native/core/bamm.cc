// sl-BAMM (docs/algorithms.md §7): one LL step, one line-search step on v, one UL step.
#include <cmath>

#include "core/error.h"
#include "core/solver.h"
#include "core/stopwatch.h"

namespace bilevel::core {
namespace {

class BammSolver : public Solver {
 public:
  BammSolver(std::shared_ptr<Problem> problem, const BammOptions& options)
      : Solver(std::move(problem)), options_(options) {
    requireUpperVariables("sl-BAMM");
    if (!(options_.beta > 0)) throw Error("INVALID_ARGUMENT", "bamm.beta must be > 0");
    if (!(options_.mu0 > 0 && options_.mu0 < 1)) throw Error("INVALID_ARGUMENT", "bamm.mu0 must be in (0, 1)");
    if (!(options_.p > 0)) throw Error("INVALID_ARGUMENT", "bamm.p must be > 0");
    if (!(options_.tau >= 0)) throw Error("INVALID_ARGUMENT", "bamm.tau must be >= 0");
    if (options_.mu && !(*options_.mu >= 0 && *options_.mu <= 1)) throw Error("INVALID_ARGUMENT", "bamm.mu must be in [0, 1]");
    if (options_.lr && !(*options_.lr > 0)) throw Error("INVALID_ARGUMENT", "bamm.lr must be > 0");
    v_ = zerosLike(y_);
  }

 protected:
  void saveOwn(StateWriter& writer) const override { writer.tensors("v", v_); }
  Commit loadOwn(StateReader& reader) override {
    TensorList v = reader.tensors("v", v_);
    return [this, v] { v_ = v; };
  }

  void iterate(IterationRecord& record) override {
    record.steps = 1;
    const double k1 = static_cast<double>(iteration_ + 1);
    const double mu = options_.mu ? *options_.mu : options_.mu0 / std::pow(k1, 1.0 / options_.p);
    const double lr = options_.lr ? *options_.lr : std::pow(k1, -1.5 * options_.tau) * mu * mu * mu * options_.beta;
    Stopwatch watch;
    const TensorList x = leaves(x_);
    const TensorList y = leaves(y_);
    const IterationBatches batches = nextBatches(1);
    const torch::Tensor upper = problem_->upperObjective(x, y, batches.upper);
    const torch::Tensor lower = problem_->lowerObjective(x, y, batches.lowerAt(0));
    const torch::Tensor averaged = (1 - mu) * lower + mu * upper;
    const TensorList gPhi = gradients(averaged, y, true, true);
    const TensorList nextY = project(axpy(detached(y), detached(gPhi), -options_.beta), problem_->lowerVariables().sets);
    record.unrollMs = watch.lap();
    const TensorList direct = gradients(upper, concat(x, y), false, true);
    const TensorList gFx(direct.begin(), direct.begin() + static_cast<std::ptrdiff_t>(x.size()));
    const TensorList gFy(direct.begin() + static_cast<std::ptrdiff_t>(x.size()), direct.end());
    const TensorList hv = gradients(dot(gPhi, v_), concat(x, y), false, true);
    const TensorList mixed(hv.begin(), hv.begin() + static_cast<std::ptrdiff_t>(x.size()));
    const TensorList residual = axpy(TensorList(hv.begin() + static_cast<std::ptrdiff_t>(x.size()), hv.end()), gFy, -1.0);
    const TensorList hr = gradients(dot(gPhi, residual), y, false, true);
    const double eta = dot(residual, residual).item<double>() / (dot(residual, hr).item<double>() + 1e-12);
    const TensorList gx = axpy(gFx, mixed, -1.0);
    record.hypergradientMs = watch.lap();
    record.upper = upper.item<double>();
    record.lower = lower.item<double>();
    requireFinite(record.upper, iteration_, "F(x, y)");
    requireFinite(record.lower, iteration_, "f(x, y)");
    requireFinite(gx, iteration_, "the hypergradient of x");
    requireFinite(nextY, iteration_, "the LL iterate");
    TensorList nextX;
    {
      torch::NoGradGuard noGrad;
      nextX = project(axpy(x_, gx, -lr), problem_->upperVariables().sets);
    }
    requireFinite(nextX, iteration_, "the updated x");
    x_ = std::move(nextX);
    y_ = nextY;
    v_ = axpy(v_, residual, -eta);
    record.gradientNormX = norm(gx);
    record.updateMs = watch.lap();
  }

 private:
  BammOptions options_;
  TensorList v_;
};

}  // namespace

const OptionFields<BammOptions>& bammFields() {
  using O = BammOptions;
  static const OptionFields<O> fields = {
      {"mu0", &O::mu0, 0.9, {0, 1, true, true}},
      {"p", &O::p, 10, positive()},
      {"tau", &O::tau, 1.0 / 40.0, nonNegative()},
      {"beta", &O::beta, 0.1, positive()},
      {"mu", &O::mu, std::nullopt, between(0, 1)},
      {"lr", &O::lr, std::nullopt, positive()},
  };
  return fields;
}

std::unique_ptr<Solver> makeBammSolver(std::shared_ptr<Problem> problem, const BammOptions& options) {
  return std::make_unique<BammSolver>(std::move(problem), options);
}

}  // namespace bilevel::core

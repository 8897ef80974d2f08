#include "core/hypergradient.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/linear_solve/linear_solve.h"
#include "core/stopwatch.h"

namespace bilevel::core {
namespace {

using Kind = HypergradientOptions::Kind;

// PTT's choice: Kbar = argmax_{first <= k <= K} F(x, y_k), ties to the smallest k (argmax returns
// the first maximum), where first = dynamics.firstDistinctStep(): an iterate identical to y_0 is
// never chosen, since its x-hypergradient is exactly zero. The values stay where the problem
// lives until the end: one host sync per UL iteration instead of one per LL step. For
// PTT-recompute, which re-unrolls to Kbar anyway.
class PessimisticChoice {
 public:
  explicit PessimisticChoice(int64_t first) : first_(first) {}
  void add(Problem& problem, const TensorList& x, const TensorList& y, const Batch& batch) {
    torch::NoGradGuard noGrad;
    values_.push_back(problem.upperObjective(x, y, batch).detach());
  }
  // Sets out.kbar and out.upperAtLast = F(x, y_K).
  void decide(HypergradientOutput& out) const {
    const torch::Tensor host = torch::stack(values_).to(torch::kCPU, torch::kFloat64);
    out.kbar = host.slice(0, first_ - 1).argmax().item<int64_t>() + first_;
    out.upperAtLast = host[-1].item<double>();
  }

 private:
  int64_t first_;
  std::vector<torch::Tensor> values_;
};

// The global CPU generator's state, so that a second unroll of the same UL iteration sees the same
// random numbers as the first where an objective draws its own (noise in a TypeScript objective);
// the sampler's batches are the iteration's already.
class GeneratorState {
 public:
  GeneratorState() {
    at::Generator generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    state_ = generator.get_state();
  }
  void restore() const {
    at::Generator generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(state_);
  }

 private:
  torch::Tensor state_;
};

// The same choice made step by step, for the variants that must hold on to the chosen iterate
// (its graph, or its tangents) as they go: keeping every step's instead would cost O(K) memory.
struct RunningChoice {
  explicit RunningChoice(int64_t first) : first(first) {}
  int64_t first;  // the first k that may be chosen (PessimisticChoice says why)
  double best = -std::numeric_limits<double>::infinity();
  double last = std::numeric_limits<double>::quiet_NaN();  // F at the latest y_k offered
  int64_t kbar = 0;
  // Whether y_k (k >= 1) is the new choice.
  bool offer(Problem& problem, const TensorList& x, const TensorList& y, const Batch& batch, int64_t k) {
    torch::NoGradGuard noGrad;
    const double value = problem.upperObjective(x, y, batch).item<double>();
    last = value;
    if (k < first || (k > first && !(value > best))) return false;
    best = value;
    kbar = k;
    return true;
  }
};

// grad_x F and grad_y F at the leaves (x, y), and F(x, y) itself.
struct UpperGradients {
  TensorList x;
  TensorList y;
  torch::Tensor value;
};
UpperGradients upperGradients(Problem& problem, const TensorList& x, const TensorList& y, const Batch& batch) {
  const torch::Tensor value = problem.upperObjective(x, y, batch);
  const TensorList both = gradients(value, concat(x, y), false, false);
  const auto middle = both.begin() + static_cast<std::ptrdiff_t>(x.size());
  return {TensorList(both.begin(), middle), TensorList(middle, both.end()), value.detach()};
}

// The record's F(x, y_K) from a value the method computed at y_K, so the solver need not evaluate
// it again (PTT has set it already).
void keepUpperAtLast(const torch::Tensor& upperAtLast, HypergradientOutput& out) {
  if (std::isnan(out.upperAtLast)) out.upperAtLast = upperAtLast.item<double>();
}

// Splits gradients w.r.t. concat(x, z) back into (x, z).
void split(const TensorList& grads, size_t xCount, HypergradientOutput& out) {
  out.x.assign(grads.begin(), grads.begin() + static_cast<std::ptrdiff_t>(xCount));
  out.z.assign(grads.begin() + static_cast<std::ptrdiff_t>(xCount), grads.end());
}

// y_K and what a warm start carries from the last state, detached.
void keepLast(const Dynamics& dynamics, const State& last, size_t n, HypergradientOutput& out) {
  out.yLast = detached(dynamics.lowerOf(last, n));
  out.carriedLast = detached(dynamics.carriedOf(last));
}

// reverse, truncated(T) and both PTT variants: backpropagation through (part of) the trajectory.
class ReverseHypergradient : public Hypergradient {
 public:
  explicit ReverseHypergradient(int64_t truncate) : truncate_(truncate) {}

  HypergradientOutput compute(const HypergradientInput& in) const override {
    HypergradientOutput out;
    Stopwatch watch;
    const int64_t K = in.dynamics.steps();
    const size_t n = in.y0.size();
    const State start = in.dynamics.initialState(in.y0, in.carried);
    TensorList target;
    if (in.truncation == Truncation::PessimisticRecompute) {
      PessimisticChoice choice(in.dynamics.firstDistinctStep());
      const GeneratorState beforeUnroll;
      const State last = unroll(in.problem, in.dynamics, in.x, start, 0, K, false, in.batches, [&](int64_t, const State& s) {
        choice.add(in.problem, in.x, in.dynamics.lowerOf(s, n), in.batches.upper);
      });
      const GeneratorState afterUnroll;
      keepLast(in.dynamics, last, n, out);
      choice.decide(out);
      // The re-unroll follows the trajectory Kbar was chosen on (the same batches and draws), and the
      // run continues from where the first unroll left the generator, as plain PTT does.
      beforeUnroll.restore();
      target = in.dynamics.lowerOf(unroll(in.problem, in.dynamics, in.x, start, 0, out.kbar, true, in.batches), n);
      afterUnroll.restore();
    } else if (in.truncation == Truncation::Pessimistic) {
      RunningChoice choice(in.dynamics.firstDistinctStep());
      const State last = unroll(in.problem, in.dynamics, in.x, start, 0, K, true, in.batches, [&](int64_t k, const State& s) {
        TensorList y = in.dynamics.lowerOf(s, n);
        if (choice.offer(in.problem, in.x, y, in.batches.upper, k)) target = std::move(y);
      });
      keepLast(in.dynamics, last, n, out);
      out.kbar = choice.kbar;
      out.upperAtLast = choice.last;
    } else {
      const int64_t from = truncate_ > 0 ? K - truncate_ : 0;
      // T-RHG: the first K - T steps carry no history, so y_{K-T} is a constant.
      const State middle = from > 0 ? unroll(in.problem, in.dynamics, in.x, start, 0, from, false, in.batches) : start;
      const State last = unroll(in.problem, in.dynamics, in.x, middle, from, K, true, in.batches);
      target = in.dynamics.lowerOf(last, n);
      keepLast(in.dynamics, last, n, out);
      out.kbar = K;
    }
    const torch::Tensor surrogate = in.problem.upperObjective(in.x, target, in.batches.upper);
    if (out.kbar == K) keepUpperAtLast(surrogate, out);
    out.unrollMs = watch.lap();
    const TensorList wrt = in.initAuxiliary ? concat(in.x, in.y0) : in.x;
    split(gradients(surrogate, wrt, false, false), in.x.size(), out);
    out.backwardMs = watch.lap();
    return out;
  }

 private:
  int64_t truncate_;  // 0: the whole trajectory
};

// Forward mode: tangents Z_k = d s_k / d(x, z) carried along the unroll, one column per
// scalar parameter, each JVP by the double-VJP identity. Memory does not grow with K.
class ForwardHypergradient : public Hypergradient {
 public:
  HypergradientOutput compute(const HypergradientInput& in) const override {
    HypergradientOutput out;
    const size_t n = in.y0.size();
    const TensorList params = in.initAuxiliary ? concat(in.x, in.y0) : in.x;
    std::vector<std::pair<size_t, int64_t>> columns;  // (parameter, flat element)
    for (size_t p = 0; p < params.size(); ++p) {
      for (int64_t j = 0; j < params[p].numel(); ++j) columns.emplace_back(p, j);
    }
    State s = in.dynamics.initialState(detached(in.y0), in.carried);
    std::vector<State> tangents;
    for (size_t c = 0; c < columns.size(); ++c) {
      tangents.push_back(zerosLike(s));
      const auto [p, j] = columns[c];
      if (p < in.x.size()) continue;
      for (size_t b = 0; b < in.dynamics.blocksFromStart(); ++b) tangents[c][b * n + (p - in.x.size())].view(-1)[j] = 1.0;
    }
    const TensorList x = leaves(in.x);
    RunningChoice choice(in.dynamics.firstDistinctStep());
    TensorList chosenY;
    std::vector<TensorList> chosenTangents;
    double stepMs = 0, tangentMs = 0;
    for (int64_t k = 0; k < in.dynamics.steps(); ++k) {
      Stopwatch watch;
      const State sIn = leaves(s);
      const State sOut = in.dynamics.step(in.problem, x, sIn, k, true, in.batches);
      stepMs += watch.lap();
      tangents = propagate(sIn, sOut, x, columns, tangents);
      s = detached(sOut);
      tangentMs += watch.lap();
      if (in.truncation != Truncation::None) {
        TensorList y = in.dynamics.lowerOf(s, n);
        if (choice.offer(in.problem, x, y, in.batches.upper, k + 1)) {
          out.kbar = k + 1;
          chosenY = y;
          chosenTangents.clear();
          for (const auto& t : tangents) chosenTangents.push_back(in.dynamics.lowerOf(t, n));
        }
      }
    }
    keepLast(in.dynamics, s, n, out);
    out.upperAtLast = choice.last;  // NaN without PTT: taken from F at y_K below
    if (in.truncation == Truncation::None) {
      out.kbar = in.dynamics.steps();
      chosenY = out.yLast;
      for (const auto& t : tangents) chosenTangents.push_back(in.dynamics.lowerOf(t, n));
    }
    Stopwatch watch;
    const TensorList y = leaves(chosenY);
    const UpperGradients direct = upperGradients(in.problem, x, y, in.batches.upper);
    if (in.truncation == Truncation::None) keepUpperAtLast(direct.value, out);
    TensorList grads = zerosLike(params);
    for (size_t c = 0; c < columns.size(); ++c) {
      const auto [p, j] = columns[c];
      double value = dot(direct.y, chosenTangents[c]).item<double>();
      if (p < x.size()) value += direct.x[p].reshape(-1)[j].item<double>();
      grads[p].view(-1)[j] = value;
    }
    split(grads, x.size(), out);
    out.unrollMs = stepMs;
    out.backwardMs = tangentMs + watch.lap();
    return out;
  }

 private:
  static std::vector<State> propagate(const State& sIn, const State& sOut, const TensorList& x,
                                      const std::vector<std::pair<size_t, int64_t>>& columns,
                                      const std::vector<State>& tangents) {
    const TensorList cotangent = leaves(zerosLike(sOut));
    const TensorList inputs = concat(sIn, x);
    TensorList vjp = torch::autograd::grad(sOut, inputs, cotangent, true, true, true);
    std::vector<State> next;
    next.reserve(columns.size());
    for (size_t c = 0; c < columns.size(); ++c) {
      const auto [p, j] = columns[c];
      torch::Tensor total;
      auto add = [&](const torch::Tensor& term) { total = total.defined() ? total + term : term; };
      for (size_t i = 0; i < sIn.size(); ++i) {
        if (vjp[i].defined()) add((vjp[i] * tangents[c][i]).sum());
      }
      if (p < x.size() && vjp[sIn.size() + p].defined()) add(vjp[sIn.size() + p].reshape(-1)[j]);
      if (!total.defined() || !total.requires_grad()) {
        next.push_back(zerosLike(sOut));
        continue;
      }
      next.push_back(detached(gradients(total, cotangent, false, true)));
    }
    return next;
  }
};

// The state after `steps` steps of an unroll that keeps no history.
State plainUnroll(const HypergradientInput& in, int64_t steps) {
  return unroll(in.problem, in.dynamics, in.x, in.dynamics.initialState(in.y0, in.carried), 0, steps, false, in.batches);
}

// cg and neumann: g_x = grad_x F - hess_xy f v with v ~ H^{-1} grad_y F at y = y_K, v from the
// linear solver the options name (core/linear_solve).
class ImplicitHypergradient : public Hypergradient {
 public:
  explicit ImplicitHypergradient(const HypergradientOptions& options) : solve_(linearSolver(options)) {}

  HypergradientOutput compute(const HypergradientInput& in) const override {
    HypergradientOutput out;
    Stopwatch watch;
    keepLast(in.dynamics, plainUnroll(in, in.dynamics.steps()), in.y0.size(), out);
    out.kbar = in.dynamics.steps();
    out.unrollMs = watch.lap();
    const TensorList x = leaves(in.x);
    const TensorList y = leaves(out.yLast);
    const UpperGradients direct = upperGradients(in.problem, x, y, in.batches.upper);
    keepUpperAtLast(direct.value, out);
    const TensorList gy = in.problem.lowerGradient(x, y, in.batches.lowerLast(in.dynamics.steps()), true);
    const MatVec hessianTimes = [&](const TensorList& v) { return gradients(dot(gy, v), y, false, true); };
    const TensorList v = solve_(hessianTimes, direct.y).solution;
    out.x = axpy(direct.x, gradients(dot(gy, v), x, false, true), -1.0);
    out.backwardMs = watch.lap();
    return out;
  }

 private:
  using LinearSolver = std::function<LinearSolveResult(const MatVec&, const TensorList&)>;

  static LinearSolver linearSolver(const HypergradientOptions& o) {
    if (o.kind == Kind::Neumann) {
      const NeumannOptions neumann{o.alpha, o.terms};
      return [neumann](const MatVec& a, const TensorList& b) { return neumannSeries(a, b, neumann); };
    }
    const ConjugateGradientOptions cg{o.iterations, o.tolerance, o.damping};
    return [cg](const MatVec& a, const TensorList& b) { return conjugateGradient(a, b, cg); };
  }

  LinearSolver solve_;
};

// DARTS' second-order approximation around the last step: y = y_{K-1}, y' = that step taken as
// DARTS's virtual step (unclipped, so that y' - y = -lr (grad_y f + terms free of x)); the run
// goes on from the real y_K, which equals y' unless the dynamics clip.
class FiniteDifferenceHypergradient : public Hypergradient {
 public:
  explicit FiniteDifferenceHypergradient(double radius) : radius_(radius) {}

  HypergradientOutput compute(const HypergradientInput& in) const override {
    HypergradientOutput out;
    Stopwatch watch;
    const int64_t K = in.dynamics.steps();
    const size_t n = in.y0.size();
    const State beforeState = plainUnroll(in, K - 1);
    const TensorList before = in.dynamics.lowerOf(beforeState, n);
    const bool virtualIsLast = !in.dynamics.clips();
    TensorList after;
    if (virtualIsLast) {
      keepLast(in.dynamics, unroll(in.problem, in.dynamics, in.x, beforeState, K - 1, K, false, in.batches), n, out);
      after = out.yLast;
    } else {
      // The real (clipped) step goes on; DARTS's virtual step is the unclipped one, from the same gradient.
      const auto [real, virtualStep] = in.dynamics.stepAndUnclipped(in.problem, in.x, beforeState, K - 1, in.batches);
      keepLast(in.dynamics, real, n, out);
      after = in.dynamics.lowerOf(virtualStep, n);
    }
    out.kbar = K;
    out.unrollMs = watch.lap();
    const TensorList x = leaves(in.x);
    const UpperGradients direct = upperGradients(in.problem, x, leaves(after), in.batches.upper);
    if (virtualIsLast) keepUpperAtLast(direct.value, out);
    const TensorList& v = direct.y;
    const double vNorm = norm(v);
    out.x = direct.x;
    if (vNorm > 0) {
      const double eps = radius_ / vNorm;
      // The last step's batch: the difference approximates that step's mixed derivative.
      const Batch& last = in.batches.lowerLast(K);
      const TensorList plus = gradients(in.problem.lowerObjective(x, axpy(before, v, eps), last), x, false, false);
      const TensorList minus = gradients(in.problem.lowerObjective(x, axpy(before, v, -eps), last), x, false, false);
      out.x = axpy(direct.x, axpy(plus, minus, -1.0), -in.dynamics.options().lr / (2.0 * eps));
    }
    out.backwardMs = watch.lap();
    return out;
  }

 private:
  double radius_;
};

class FirstOrderHypergradient : public Hypergradient {
 public:
  HypergradientOutput compute(const HypergradientInput& in) const override {
    HypergradientOutput out;
    Stopwatch watch;
    keepLast(in.dynamics, plainUnroll(in, in.dynamics.steps()), in.y0.size(), out);
    out.kbar = in.dynamics.steps();
    out.unrollMs = watch.lap();
    const TensorList x = leaves(in.x);
    const torch::Tensor upper = in.problem.upperObjective(x, out.yLast, in.batches.upper);
    out.x = gradients(upper, x, false, false);
    keepUpperAtLast(upper, out);
    out.backwardMs = watch.lap();
    return out;
  }
};

void refuse(const std::string& why) { throw Error("INVALID_ARGUMENT", why); }

}  // namespace

void checkCombination(const HypergradientOptions& h, const DynamicsOptions& d, bool initAuxiliary,
                      Truncation truncation) {
  using Capabilities = HypergradientCapabilities;
  const auto& members = hypergradientMembers();
  const OptionMember<HypergradientOptions>& member = declaredMember(members, h.kind);
  const Capabilities& can = member.capabilities;
  const std::string method = member.name;
  const bool differentiatesTruncate = can.differentiates == Capabilities::Steps::LastTruncate;
  if (differentiatesTruncate && (h.truncate < 1 || h.truncate > d.steps)) {
    refuse("hypergradient.truncate must be in [1, dynamics.steps = " + std::to_string(d.steps) + "], got " +
           std::to_string(h.truncate));
  }
  if (truncation != Truncation::None && !can.pessimisticTruncation) {
    refuse("pessimisticTruncation differentiates the trajectory up to Kbar, so it needs the " +
           memberNames(members, [](const Capabilities& c) { return c.pessimisticTruncation; }) + " hypergradient, not " + method);
  }
  if (initAuxiliary && can.differentiates == Capabilities::Steps::None) {
    refuse("initAuxiliary learns y_0 = z from the gradient through the trajectory; " + method +
           " does not differentiate w.r.t. y_0 (z would never move): use " +
           memberNames(members, [](const Capabilities& c) { return c.differentiates != Capabilities::Steps::None; }));
  }
  if (initAuxiliary && differentiatesTruncate && h.truncate < d.steps) {
    refuse("initAuxiliary with " + method + "(" + std::to_string(h.truncate) + ") < dynamics.steps detaches y_0 = z, "
           "so z would never move: truncate all steps or use " +
           memberNames(members, [](const Capabilities& c) { return c.differentiates == Capabilities::Steps::All; }));
  }
  if (can.needsGradientStep && !declaredMember(dynamicsMembers(), d.kind).capabilities.gradientStep) {
    refuse(method + " takes the last LL step to be a gradient step; it needs " +
           memberNames(dynamicsMembers(), [](const DynamicsCapabilities& c) { return c.gradientStep; }) + " dynamics");
  }
  checkDeclaredRanges(member, h, "hypergradient");
}

const OptionMembers<HypergradientOptions>& hypergradientMembers() {
  using O = HypergradientOptions;
  using Steps = HypergradientCapabilities::Steps;
  static const OptionMembers<O> members = {
      {"reverse", Kind::Reverse, {}, {Steps::All, /*pessimisticTruncation=*/true}},
      {"truncated", Kind::Truncated, {{"steps", &O::truncate, std::nullopt, between(1, kMaxLowerSteps)}}, {Steps::LastTruncate}},
      {"forward", Kind::Forward, {}, {Steps::All, /*pessimisticTruncation=*/true}},
      {"cg", Kind::ConjugateGradient,
       {{"iterations", &O::iterations, 20, between(1, kMaxSolverIterations)},
        {"tolerance", &O::tolerance, 1e-10, nonNegative()},
        {"damping", &O::damping, 0.0, nonNegative()}}},
      {"neumann", Kind::Neumann,
       {{"alpha", &O::alpha, 0.1, positive()}, {"terms", &O::terms, 20, between(0, kMaxSolverIterations)}}},
      {"finiteDifference", Kind::FiniteDifference, {{"radius", &O::radius, 0.01, positive()}},
       {Steps::None, /*pessimisticTruncation=*/false, /*needsGradientStep=*/true}},
      {"firstOrder", Kind::FirstOrder, {}},
  };
  return members;
}

std::unique_ptr<Hypergradient> makeHypergradient(const HypergradientOptions& options) {
  switch (options.kind) {
    case Kind::Reverse: return std::make_unique<ReverseHypergradient>(0);
    case Kind::Truncated: return std::make_unique<ReverseHypergradient>(options.truncate);
    case Kind::Forward: return std::make_unique<ForwardHypergradient>();
    case Kind::ConjugateGradient:
    case Kind::Neumann: return std::make_unique<ImplicitHypergradient>(options);
    case Kind::FiniteDifference: return std::make_unique<FiniteDifferenceHypergradient>(options.radius);
    case Kind::FirstOrder: return std::make_unique<FirstOrderHypergradient>();
  }
  throw Error("INVALID_ARGUMENT", "unknown hypergradient");
}

}  // namespace bilevel::core

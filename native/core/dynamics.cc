#include "core/dynamics.h"

#include "core/error.h"
#include "core/unroll_scope.h"

namespace bilevel::core {

const OptionMembers<DynamicsOptions>& dynamicsMembers() {
  using O = DynamicsOptions;
  const OptionField<O> steps{"steps", &O::steps, 10, between(1, kMaxLowerSteps)};
  const OptionField<O> lr{"lr", &O::lr, 0.1, positive()};
  static const OptionMembers<O> members = {
      {"gd", O::Kind::Gd, {steps, lr}, {/*gradientStep=*/true, /*firstDistinctStep=*/1}},
      {"bda", O::Kind::Bda,
       {steps, lr, {"upperLr", &O::upperLr, 0.1, positive()}, {"mu", &O::mu, 0.5, unitInterval()},
        {"beta", &O::beta, 1.0, {0, 1, true, false}}}},
      {"nesterov", O::Kind::Nesterov, {steps, lr}},
      {"accelerated", O::Kind::Accelerated, {steps, {"lipschitz", &O::lipschitz, 1.0, positive()}},
       {/*gradientStep=*/false, /*firstDistinctStep=*/2}},
      {"heavyBall", O::Kind::HeavyBall,
       {steps, lr, {"momentum", &O::momentum, 0.9, unitInterval()},
        {"weightDecay", &O::weightDecay, 0.0, nonNegative()}, {"gradientClip", &O::gradientClip, 0.0, nonNegative()}},
       {/*gradientStep=*/true, /*firstDistinctStep=*/1}},
  };
  return members;
}
namespace {

TensorList slice(const State& s, size_t block, size_t n) {
  return TensorList(s.begin() + static_cast<std::ptrdiff_t>(block * n),
                    s.begin() + static_cast<std::ptrdiff_t>((block + 1) * n));
}

// grad scaled to a global norm of at most maxNorm, as torch.nn.utils.clip_grad_norm_ does it (the
// norm of the tensors' norms, the same 1e-6 in the denominator); differentiable, the scale
// included (norm's derivative at a zero gradient is 0, not sqrt's NaN).
TensorList clipped(const TensorList& grad, double maxNorm) {
  std::vector<torch::Tensor> norms;
  for (const auto& g : grad) norms.push_back(g.norm());
  const torch::Tensor scale = torch::clamp_max(maxNorm / (torch::stack(norms).norm() + 1e-6), 1.0);
  TensorList out;
  for (const auto& g : grad) out.push_back(g * scale);
  return out;
}

}  // namespace

int64_t Dynamics::firstDistinctStep() const {
  return std::min(declaredMember(dynamicsMembers(), options_.kind).capabilities.firstDistinctStep, options_.steps);
}

Dynamics::Dynamics(DynamicsOptions options) : options_(options) {
  if (options_.steps < 1) throw Error("INVALID_ARGUMENT", "dynamics.steps must be an integer >= 1");
  if (!(options_.lr > 0)) throw Error("INVALID_ARGUMENT", "dynamics.lr must be > 0");
  if (options_.kind == DynamicsOptions::Kind::Bda && !(options_.mu >= 0 && options_.mu < 1)) {
    throw Error("INVALID_ARGUMENT", "dynamics.mu must be in [0, 1)");
  }
  if (options_.kind == DynamicsOptions::Kind::Accelerated && !(options_.lipschitz > 0)) {
    throw Error("INVALID_ARGUMENT", "dynamics.lipschitz must be > 0");
  }
  if (options_.kind == DynamicsOptions::Kind::HeavyBall &&
      !(options_.momentum >= 0 && options_.momentum < 1 && options_.weightDecay >= 0 && options_.gradientClip >= 0)) {
    throw Error("INVALID_ARGUMENT", "dynamics.momentum must be in [0, 1), weightDecay and gradientClip >= 0");
  }
  nesterovT_.push_back(1.0);
  for (int64_t k = 0; k < options_.steps; ++k) {
    const double t = nesterovT_.back();
    nesterovT_.push_back((1.0 + std::sqrt(1.0 + 4.0 * t * t)) / 2.0);
  }
}

size_t Dynamics::blocks() const {
  switch (options_.kind) {
    case DynamicsOptions::Kind::Nesterov:
    case DynamicsOptions::Kind::HeavyBall: return 2;
    case DynamicsOptions::Kind::Accelerated: return 3;
    default: return 1;
  }
}

bool Dynamics::clips() const { return options_.kind == DynamicsOptions::Kind::HeavyBall && options_.gradientClip > 0; }

Dynamics Dynamics::withLr(double lr) const {
  DynamicsOptions options = options_;
  options.lr = lr;
  return Dynamics(options);
}

size_t Dynamics::blocksFromStart() const { return options_.kind == DynamicsOptions::Kind::HeavyBall ? 1 : blocks(); }

State Dynamics::initialState(const TensorList& y0, const TensorList& carried) const {
  State s;
  for (size_t b = 0; b < blocksFromStart(); ++b) s.insert(s.end(), y0.begin(), y0.end());
  if (carried.empty()) {
    for (size_t b = blocksFromStart(); b < blocks(); ++b) s = concat(s, zerosLike(y0));
    return s;
  }
  const size_t expected = y0.size() * (blocks() - blocksFromStart());
  if (carried.size() != expected) {
    throw Error("INVALID_ARGUMENT", "the carried LL state has " + std::to_string(carried.size()) + " tensors, the dynamics " +
                                        std::to_string(expected));
  }
  return concat(s, carried);
}

TensorList Dynamics::carriedOf(const State& s) const {
  const size_t n = s.size() / blocks();
  return TensorList(s.begin() + static_cast<std::ptrdiff_t>(blocksFromStart() * n), s.end());
}

State Dynamics::step(Problem& problem, const TensorList& x, const State& s, int64_t k, bool graph,
                     const IterationBatches& batches) const {
  const Batch& batch = batches.lowerAt(k);
  const auto& sets = problem.lowerVariables().sets;
  const size_t n = s.size() / blocks();
  const TensorList y = slice(s, 0, n);
  switch (options_.kind) {
    case DynamicsOptions::Kind::Gd:
      return project(axpy(y, problem.lowerGradient(x, y, batch, graph), -options_.lr), sets);
    case DynamicsOptions::Kind::Bda: {
      const double ak = 1.0 / static_cast<double>(k + 1);
      const double upperWeight = options_.mu * ak * options_.upperLr;
      const double lowerWeight = (1.0 - options_.mu) * options_.beta * options_.lr;
      TensorList next = axpy(y, problem.lowerGradient(x, y, batch, graph), -lowerWeight);
      // mu = 0 skips grad_y F entirely so bda reduces to gd exactly.
      if (upperWeight != 0.0) next = axpy(next, problem.upperGradient(x, y, batches.upper, graph), -upperWeight);
      return project(next, sets);
    }
    case DynamicsOptions::Kind::Nesterov: {
      const TensorList u = slice(s, 1, n);
      TensorList next = project(axpy(u, problem.lowerGradient(x, u, batch, graph), -options_.lr), sets);
      const double momentum = (nesterovT_[k] - 1.0) / nesterovT_[k + 1];
      TensorList nextU;
      for (size_t i = 0; i < n; ++i) nextU.push_back(next[i] + momentum * (next[i] - y[i]));
      return concat(next, nextU);
    }
    case DynamicsOptions::Kind::Accelerated: {
      const TensorList u = slice(s, 1, n);
      const TensorList v = slice(s, 2, n);
      const double kk = static_cast<double>(k + 1);  // the paper's k = 1..K
      const double alpha = 2.0 / (kk + 1.0);
      const double beta = 1.0 / (2.0 * options_.lipschitz);
      const double lambda = kk * beta / 2.0;
      TensorList next;
      for (size_t i = 0; i < n; ++i) next.push_back((1.0 - alpha) * u[i] + alpha * v[i]);
      const TensorList g = problem.lowerGradient(x, next, batch, graph);
      TensorList nextU = project(axpy(next, g, -beta), sets);
      TensorList nextV = project(axpy(v, g, -lambda), sets);
      return concat(concat(next, nextU), nextV);
    }
    case DynamicsOptions::Kind::HeavyBall: {
      const TensorList grad = problem.lowerGradient(x, y, batch, graph);
      return heavyBallMove(s, options_.gradientClip > 0 ? clipped(grad, options_.gradientClip) : grad, sets);
    }
  }
  throw Error("INVALID_ARGUMENT", "unknown dynamics");
}

State Dynamics::heavyBallMove(const State& s, const TensorList& grad, const std::vector<Box>& sets) const {
  // torch.optim.SGD (dampening 0) after clip_grad_norm_, as DARTS trains its weights: the
  // gradient clipped (by the caller), then weight decay added, then the velocity, then the step.
  const size_t n = s.size() / blocks();
  const TensorList y = slice(s, 0, n);
  const TensorList velocity = slice(s, 1, n);
  TensorList nextVelocity;
  for (size_t i = 0; i < n; ++i) nextVelocity.push_back(options_.momentum * velocity[i] + grad[i] + options_.weightDecay * y[i]);
  return concat(project(axpy(y, nextVelocity, -options_.lr), sets), nextVelocity);
}

std::pair<State, State> Dynamics::stepAndUnclipped(Problem& problem, const TensorList& x, const State& s, int64_t k,
                                                   const IterationBatches& batches) const {
  if (!clips()) throw Error("INVALID_ARGUMENT", "stepAndUnclipped: only heavyBall with gradientClip clips");
  const UnrollScope scope;  // a one-step unroll
  torch::NoGradGuard noGrad;
  const State start = detached(s);
  const TensorList grad = problem.lowerGradient(detached(x), slice(start, 0, start.size() / blocks()), batches.lowerAt(k), false);
  const auto& sets = problem.lowerVariables().sets;
  return {heavyBallMove(start, clipped(grad, options_.gradientClip), sets), heavyBallMove(start, grad, sets)};
}

State unroll(Problem& problem, const Dynamics& dynamics, const TensorList& x, State s, int64_t from, int64_t to, bool graph,
             const IterationBatches& batches, const StepVisitor& visit) {
  const UnrollScope scope;
  if (!graph) {
    const TensorList xs = detached(x);
    s = detached(s);
    for (int64_t k = from; k < to; ++k) {
      {
        torch::NoGradGuard noGrad;
        s = dynamics.step(problem, xs, s, k, false, batches);
      }
      if (visit) visit(k + 1, s);
    }
    return s;
  }
  for (int64_t k = from; k < to; ++k) {
    s = dynamics.step(problem, x, s, k, true, batches);
    if (visit) visit(k + 1, s);
  }
  return s;
}

TensorList descend(Problem& problem, const TensorList& x, const TensorList& y, int64_t steps, double lr) {
  DynamicsOptions options;
  options.steps = steps;
  options.lr = lr;
  const Dynamics gd(options);
  return unroll(problem, gd, x, gd.initialState(y), 0, steps, false, IterationBatches{});
}

}  // namespace bilevel::core

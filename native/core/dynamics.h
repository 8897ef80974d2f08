// LL maps T of docs/algorithms.md §3. A state holds `blocks()` blocks shaped as the LL variables
// (y; nesterov adds u; accelerated adds u and v; heavyBall adds its velocity); y is always the
// first block.
#pragma once
#include <algorithm>
#include <functional>
#include <utility>

#include "core/option_fields.h"
#include "core/problem.h"

namespace bilevel::core {

struct DynamicsOptions {
  enum class Kind { Gd, Bda, Nesterov, Accelerated, HeavyBall };
  Kind kind = Kind::Gd;
  int64_t steps = 10;      // K
  double lr = 0.1;         // gd / nesterov step; bda: s_l
  double upperLr = 0.1;    // bda: s_u
  double mu = 0.5;         // bda: aggregation weight
  double beta = 1.0;       // bda: b_k
  double lipschitz = 1.0;  // accelerated: L_f
  double momentum = 0.9;      // heavyBall: the velocity's decay
  double weightDecay = 0.0;   // heavyBall: added to the gradient as weightDecay * y
  double gradientClip = 0.0;  // heavyBall: the gradient's largest global norm (0: no clipping)
};

// What a dynamics member provides to the hypergradients that rely on the form of its step.
struct DynamicsCapabilities {
  // Each unclipped step is y_{k+1} = Proj(y_k - lr (grad_y f(x, y_k) + d_k)) with d_k built from
  // the state alone (heavyBall: momentum v_k + weightDecay y_k; gd: 0), so the step's derivative
  // in x is -lr hess_xy f(x, y_k) given the state: what finiteDifference approximates.
  bool gradientStep = false;
  // The first k whose y_k may differ from y_0 (a truncation never chooses an earlier iterate: it
  // does not depend on x). Accelerated dynamics start with alpha_1 = 1 and u_0 = v_0: y_1 = y_0.
  int64_t firstDistinctStep = 1;
};
template <>
struct CapabilitiesOf<DynamicsOptions> {
  using type = DynamicsCapabilities;
};

// gd, bda, nesterov, accelerated, their fields and capabilities (core/option_fields.h).
const OptionMembers<DynamicsOptions>& dynamicsMembers();

using State = TensorList;

class Dynamics {
 public:
  explicit Dynamics(DynamicsOptions options);

  const DynamicsOptions& options() const { return options_; }
  int64_t steps() const { return options_.steps; }
  // The member's declared firstDistinctStep, at most K.
  int64_t firstDistinctStep() const;
  size_t blocks() const;
  // y_0 in every block that starts there (all but heavyBall's velocity, which starts at zero or,
  // given, at `carried`: what carriedOf kept of the previous UL iteration's last state).
  State initialState(const TensorList& y0, const TensorList& carried = {}) const;
  // The blocks that start at y_0 (the first blocksFromStart() of the state).
  size_t blocksFromStart() const;
  // What a warm start carries into the next UL iteration beyond y: heavyBall's velocity (an SGD
  // optimizer keeps its buffer across steps); the other members restart their sequences (empty).
  TensorList carriedOf(const State& s) const;
  TensorList lowerOf(const State& s, size_t lowerCount) const {
    return TensorList(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(lowerCount));
  }
  // One LL step from step index k (0-based) to k + 1, on that step's batches. With graph,
  // differentiable in x and s.
  State step(Problem& problem, const TensorList& x, const State& s, int64_t k, bool graph, const IterationBatches& batches) const;
  // Whether a step may rescale the gradient (heavyBall's gradientClip).
  bool clips() const;
  // Step k from s taken twice from one LL gradient, without graph: as step() (clipped), and as
  // the same map without clipping (DARTS's virtual step, which its reference code takes with the
  // momentum buffer and weight decay but no clipping), so finiteDifference needs f's gradient once. Only
  // for dynamics that clip.
  std::pair<State, State> stepAndUnclipped(Problem& problem, const TensorList& x, const State& s, int64_t k,
                                           const IterationBatches& batches) const;
  // The same map with another step size (a schedule's, core/lr_schedule.h).
  Dynamics withLr(double lr) const;

 private:
  // heavyBall's move from s by a gradient (clipped or not by the caller).
  State heavyBallMove(const State& s, const TensorList& grad, const std::vector<Box>& sets) const;

  DynamicsOptions options_;
  std::vector<double> nesterovT_;  // t_0..t_K
};

// Called after each step with the new step index k + 1 and the state.
using StepVisitor = std::function<void(int64_t, const State&)>;

// y after `steps` gd steps of size lr on f (the full data) at a fixed x, without history (e.g. a
// prior's anchor: the LL model pretrained on the training set).
TensorList descend(Problem& problem, const TensorList& x, const TensorList& y, int64_t steps, double lr);

// Runs steps [from, to) from s on the iteration's batches; without graph, x is detached and no
// history is kept. The steps run in an UnrollScope of their own (core/unroll_scope.h).
State unroll(Problem& problem, const Dynamics& dynamics, const TensorList& x, State s, int64_t from, int64_t to, bool graph,
             const IterationBatches& batches, const StepVisitor& visit = nullptr);

}  // namespace bilevel::core

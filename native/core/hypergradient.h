// Hypergradients of docs/algorithms.md §5 (with PTT of §4.3-4.4 for the trajectory methods).
#pragma once
#include <limits>
#include <memory>

#include "core/dynamics.h"

namespace bilevel::core {

struct HypergradientOptions {
  enum class Kind { Reverse, Truncated, Forward, ConjugateGradient, Neumann, FiniteDifference, FirstOrder };
  Kind kind = Kind::Reverse;
  int64_t truncate = 1;       // truncated: T
  int64_t iterations = 20;    // cg
  double tolerance = 1e-10;   // cg: stop when ||r|| <= tolerance * ||b||
  double damping = 0.0;       // cg
  double alpha = 0.1;         // neumann
  int64_t terms = 20;         // neumann: M
  double radius = 0.01;       // finiteDifference: r
};

// What a hypergradient member declares about itself; checkCombination's refusals follow from
// these and the dynamics members' DynamicsCapabilities.
struct HypergradientCapabilities {
  // The steps of the unroll it differentiates through (LastTruncate: the last `truncate` of the
  // K). Only through all of them does the gradient reach y_0 = z, which initAuxiliary learns.
  enum class Steps { None, All, LastTruncate };
  Steps differentiates = Steps::None;
  bool pessimisticTruncation = false;  // differentiates up to an iterate Kbar chosen as the unroll goes
  bool needsGradientStep = false;      // takes the last step to be a gd step (DynamicsCapabilities::gradientStep)
};
template <>
struct CapabilitiesOf<HypergradientOptions> {
  using type = HypergradientCapabilities;
};

// reverse, truncated, forward, cg, neumann, finiteDifference, firstOrder, their fields and
// capabilities.
const OptionMembers<HypergradientOptions>& hypergradientMembers();

enum class Truncation { None, Pessimistic, PessimisticRecompute };

// What a method needs for one UL iteration.
struct HypergradientInput {
  Problem& problem;
  const Dynamics& dynamics;
  TensorList x;       // leaves that require grad
  TensorList y0;      // with IA: z, leaves that require grad
  bool initAuxiliary;  // differentiate w.r.t. y0 as well
  Truncation truncation;
  const IterationBatches& batches;  // this iteration's data: F's batch and each LL step's
  TensorList carried{};  // the state a warm start carries beyond y (Dynamics::carriedOf); empty: fresh
};

struct HypergradientOutput {
  TensorList x;      // d surrogate / dx
  TensorList z;      // d surrogate / dz (IA only)
  TensorList yLast;  // y_K, detached
  TensorList carriedLast;  // Dynamics::carriedOf the last state, detached
  int64_t kbar = 0;  // the iterate that defines the surrogate (K without PTT)
  double upperAtLast = std::numeric_limits<double>::quiet_NaN();  // F(x, y_K) when the method computed it
  double unrollMs = 0;
  double backwardMs = 0;
};

class Hypergradient {
 public:
  virtual ~Hypergradient() = default;
  virtual HypergradientOutput compute(const HypergradientInput& in) const = 0;
};

// Refuses combinations that make no sense, with the reason, before any iteration runs.
void checkCombination(const HypergradientOptions& hypergradient, const DynamicsOptions& dynamics,
                      bool initAuxiliary, Truncation truncation);

std::unique_ptr<Hypergradient> makeHypergradient(const HypergradientOptions& options);

}  // namespace bilevel::core

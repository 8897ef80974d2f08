// Single-level training as a solver of the platform: y descends f(x, y) by the LL dynamics while x
// stays at the problem's start (docs/algorithms.md §3.8). DARTS retrains a derived architecture
// this way; as a solver, training gets the engine's records, checkpoints, exact resume and CLI.
#pragma once
#include <memory>
#include <optional>

#include "core/lr_schedule.h"
#include "core/solver.h"

namespace bilevel::core {

struct TrainingOptions {
  // dynamics.steps LL steps per iteration, each continuing from the last iterate (and heavyBall's
  // velocity): one iteration is a stretch of training between records.
  DynamicsOptions dynamics;
  std::optional<CosineSchedule> lowerLrSchedule;  // dynamics.lr across iterations; none: constant
};

// Refuses dynamics that are not a descent on f alone (bda mixes F's gradient into its steps) and
// a schedule the dynamics cannot take.
void checkOptions(const TrainingOptions& options);
std::unique_ptr<Solver> makeTrainingSolver(std::shared_ptr<Problem> problem, const TrainingOptions& options);

}  // namespace bilevel::core

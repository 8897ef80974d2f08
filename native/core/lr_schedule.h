// The LL step size across UL iterations: DARTS anneals its weights' learning rate by a cosine over
// the epochs of a search (docs/algorithms.md §3.7).
#pragma once
#include <cstdint>
#include <optional>

#include "core/dynamics.h"
#include "core/option_fields.h"

namespace bilevel::core {

// lr_t = minimum + (lr - minimum) (1 + cos(pi e / epochs)) / 2 with e = min(t / iterationsPerEpoch, epochs),
// t the UL iteration from 0: constant within an epoch, as torch's CosineAnnealingLR stepped per epoch.
struct CosineSchedule {
  double minimum = 0.0;
  int64_t epochs = 1;
  int64_t iterationsPerEpoch = 1;
};

const OptionFields<CosineSchedule>& cosineScheduleFields();

// The step size of UL iteration `iteration` for a dynamics whose lr is `lr`.
double scheduledLr(const CosineSchedule& schedule, double lr, int64_t iteration);

// Refuses a schedule the dynamics cannot take (accelerated dynamics have no lr; minimum > lr).
void checkSchedule(const CosineSchedule& schedule, const DynamicsOptions& dynamics);
// The dynamics of UL iteration `iteration`: with the schedule's lr, or as they are without one.
Dynamics scheduled(const Dynamics& dynamics, const std::optional<CosineSchedule>& schedule, int64_t iteration);

}  // namespace bilevel::core

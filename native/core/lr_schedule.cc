#include "core/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/error.h"

namespace bilevel::core {

const OptionFields<CosineSchedule>& cosineScheduleFields() {
  using O = CosineSchedule;
  static const OptionFields<O> fields = {{"minimum", &O::minimum, 0.0, nonNegative()},
                                         {"epochs", &O::epochs, std::nullopt, between(1, kMaxUpperIterations)},
                                         {"iterationsPerEpoch", &O::iterationsPerEpoch, 1, between(1, kMaxUpperIterations)}};
  return fields;
}

double scheduledLr(const CosineSchedule& schedule, double lr, int64_t iteration) {
  const int64_t epoch = std::min(iteration / schedule.iterationsPerEpoch, schedule.epochs);
  const double phase = M_PI * static_cast<double>(epoch) / static_cast<double>(schedule.epochs);
  return schedule.minimum + (lr - schedule.minimum) * (1.0 + std::cos(phase)) / 2.0;
}

void checkSchedule(const CosineSchedule& schedule, const DynamicsOptions& dynamics) {
  if (dynamics.kind == DynamicsOptions::Kind::Accelerated) {
    throw Error("INVALID_ARGUMENT", "lowerLrSchedule schedules dynamics.lr, which accelerated dynamics do not have (they step by 1 / (2 lipschitz))");
  }
  checkDeclared(cosineScheduleFields(), schedule, "lowerLrSchedule");
  if (!(schedule.minimum <= dynamics.lr)) {
    throw Error("INVALID_ARGUMENT", "lowerLrSchedule.minimum must be <= dynamics.lr = " + std::to_string(dynamics.lr));
  }
}

Dynamics scheduled(const Dynamics& dynamics, const std::optional<CosineSchedule>& schedule, int64_t iteration) {
  return schedule ? dynamics.withLr(scheduledLr(*schedule, dynamics.options().lr, iteration)) : dynamics;
}

}  // namespace bilevel::core

// The pentagram mixture and its sampler (see mixture.h).
#include "core/tasks/gan/mixture.h"

#include <cmath>
#include <string>

#include "core/error.h"

namespace bilevel::core::gan {
namespace {

constexpr int64_t kPoints = 5;

double radians(double degrees) { return degrees * M_PI / 180; }

void requirePositive(double value, const char* name) {
  if (!(std::isfinite(value) && value > 0)) {
    throw Error("INVALID_ARGUMENT", std::string(name) + " must be a positive finite number, got " + std::to_string(value));
  }
}

}  // namespace

Mixture pentagramMixture(double radius, double std) {
  requirePositive(radius, "radius");
  requirePositive(std, "std");
  const double innerRadius = radius * std::cos(radians(72)) / std::cos(radians(36));
  torch::Tensor centers = torch::empty({2 * kPoints, 2}, torch::kFloat64);
  auto at = centers.accessor<double, 2>();
  for (int64_t vertex = 0; vertex < 2 * kPoints; ++vertex) {
    const double r = vertex % 2 == 0 ? radius : innerRadius;
    const double angle = radians(90 + 36 * static_cast<double>(vertex));
    at[vertex][0] = r * std::cos(angle);
    at[vertex][1] = r * std::sin(angle);
  }
  return {centers, std};
}

torch::Tensor sample(const Mixture& mixture, int64_t count, at::Generator& gen) {
  if (count < 1) throw Error("INVALID_ARGUMENT", "count must be at least 1, got " + std::to_string(count));
  const torch::Tensor modes = torch::randint(mixture.centers.size(0), {count}, gen, torch::kInt64);
  const torch::Tensor noise = torch::randn({count, 2}, gen, torch::kFloat64);
  return mixture.centers.index_select(0, modes) + mixture.std * noise;
}

}  // namespace bilevel::core::gan

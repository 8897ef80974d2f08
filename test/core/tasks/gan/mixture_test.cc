// The pentagram mixture: its centres against the geometry of the regular pentagram (radii,
// angles, and each inner vertex where two edges cross), and its sampler (reproducible from a seed,
// modes equally likely, noise of the given std).
#include <ATen/CPUGeneratorImpl.h>

#include <array>
#include <cmath>
#include <vector>

#include "core/tasks/gan/mixture.h"
#include "../../support.h"

namespace bilevel::core::gan {
namespace {

using test::refused;

// The points' coordinates as doubles: [count][2].
std::vector<std::array<double, 2>> points(const torch::Tensor& t) {
  std::vector<std::array<double, 2>> out;
  auto at = t.accessor<double, 2>();
  for (int64_t i = 0; i < t.size(0); ++i) out.push_back({at[i][0], at[i][1]});
  return out;
}

// Twice the signed area of the triangle (a, b, c): 0 when c lies on the line through a and b.
double cross(const std::array<double, 2>& a, const std::array<double, 2>& b, const std::array<double, 2>& c) {
  return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
}

TEST(PentagramMixture, CentersAreTheOuterPointsAndInnerVerticesOfThePentagram) {
  const Mixture mixture = pentagramMixture();
  EXPECT_EQ(mixture.std, 0.2);
  ASSERT_EQ(mixture.centers.sizes(), (std::vector<int64_t>{10, 2}));
  ASSERT_EQ(mixture.centers.scalar_type(), torch::kFloat64);
  const auto c = points(mixture.centers);
  const double innerRadius = 8 * (3 - std::sqrt(5.0)) / 2;  // R / phi^2
  for (int vertex = 0; vertex < 10; ++vertex) {
    const double expectedAngle = 90 + 36 * vertex;
    const double angle = std::atan2(c[vertex][1], c[vertex][0]) * 180 / M_PI;
    EXPECT_NEAR(std::remainder(angle - expectedAngle, 360), 0, 1e-12) << "vertex " << vertex;
    EXPECT_NEAR(std::hypot(c[vertex][0], c[vertex][1]), vertex % 2 == 0 ? 8 : innerRadius, 1e-12) << "vertex " << vertex;
  }
  // The pentagram's edges join every second outer point; inner vertex 2k+1 (between outer points
  // 2k and 2k+2) is where the edges from 2k to 2k+4 and from 2k+2 to 2k-2 cross.
  for (int k = 0; k < 5; ++k) {
    const auto& inner = c[2 * k + 1];
    EXPECT_NEAR(cross(c[2 * k], c[(2 * k + 4) % 10], inner), 0, 1e-12) << "inner vertex " << 2 * k + 1;
    EXPECT_NEAR(cross(c[(2 * k + 2) % 10], c[(2 * k + 8) % 10], inner), 0, 1e-12) << "inner vertex " << 2 * k + 1;
  }
}

TEST(PentagramMixture, ScalesWithTheRadius) {
  EXPECT_TRUE(torch::allclose(pentagramMixture(2, 0.05).centers, pentagramMixture().centers / 4, 0, 1e-15));
  EXPECT_EQ(pentagramMixture(2, 0.05).std, 0.05);
}

TEST(PentagramMixture, RefusesANonPositiveRadiusOrStd) {
  EXPECT_TRUE(refused([] { pentagramMixture(0); }, "INVALID_ARGUMENT", "radius"));
  EXPECT_TRUE(refused([] { pentagramMixture(NAN); }, "INVALID_ARGUMENT", "radius"));
  EXPECT_TRUE(refused([] { pentagramMixture(8, -0.1); }, "INVALID_ARGUMENT", "std"));
  EXPECT_TRUE(refused([] { pentagramMixture(8, INFINITY); }, "INVALID_ARGUMENT", "std"));
}

TEST(MixtureSample, IsReproducibleFromTheSeed) {
  const Mixture mixture = pentagramMixture();
  at::Generator first = at::detail::createCPUGenerator(7);
  at::Generator again = at::detail::createCPUGenerator(7);
  at::Generator other = at::detail::createCPUGenerator(8);
  const torch::Tensor drawn = sample(mixture, 100, first);
  EXPECT_EQ(drawn.sizes(), (std::vector<int64_t>{100, 2}));
  EXPECT_EQ(drawn.scalar_type(), torch::kFloat64);
  EXPECT_TRUE(drawn.device().is_cpu());
  EXPECT_TRUE(torch::equal(drawn, sample(mixture, 100, again)));
  EXPECT_FALSE(torch::equal(drawn, sample(mixture, 100, other)));
  // The generator moves on: the next draw is new.
  EXPECT_FALSE(torch::equal(drawn, sample(mixture, 100, first)));
}

TEST(MixtureSample, DrawsTheModesEquallyWithNoiseOfTheGivenStd) {
  const Mixture mixture = pentagramMixture();
  at::Generator gen = at::detail::createCPUGenerator(1);
  const int64_t count = 20000;
  const torch::Tensor drawn = sample(mixture, count, gen);
  // The closest centres are 18 std apart, so each point's nearest centre is its mode (a point
  // 9 std from its own centre has probability e^-40 per sample).
  const torch::Tensor nearest = (drawn.unsqueeze(1) - mixture.centers.unsqueeze(0)).norm(2, -1).argmin(1);
  const torch::Tensor shares = torch::bincount(nearest, {}, 10).to(torch::kFloat64) / count;
  // Each share is binomial: 0.1 +- sqrt(0.1 * 0.9 / count) = 0.0021; allowed 5 of those.
  EXPECT_LT((shares - 0.1).abs().max().item<double>(), 5 * std::sqrt(0.09 / count));
  const torch::Tensor noise = drawn - mixture.centers.index_select(0, nearest);
  // The noise's mean is 0 +- 0.2 / sqrt(count) = 0.0014 per coordinate; its std is 0.2 +- 0.2 /
  // sqrt(2 count) = 0.001; allowed 5 of those.
  EXPECT_LT(noise.mean(0).abs().max().item<double>(), 5 * 0.2 / std::sqrt(count));
  EXPECT_LT((noise.std(0) - 0.2).abs().max().item<double>(), 5 * 0.2 / std::sqrt(2.0 * count));
}

TEST(MixtureSample, RefusesANonPositiveCount) {
  at::Generator gen = at::detail::createCPUGenerator(1);
  EXPECT_TRUE(refused([&] { sample(pentagramMixture(), 0, gen); }, "INVALID_ARGUMENT", "count"));
}

}  // namespace
}  // namespace bilevel::core::gan

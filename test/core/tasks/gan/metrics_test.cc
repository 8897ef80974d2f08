// The GAN metrics on fixed samples against values computed by hand: point masses on the centres,
// a collapse onto one centre, a sample of the true mixture, Jensen-Shannon on a 2x2 grid, the
// coverage threshold, the 2x2 trace of a matrix square root against an eigendecomposition, and
// the refusals of bad input.
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <vector>

#include "../../support.h"
#include "core/tasks/gan/metrics.h"

namespace bilevel::core::gan {
namespace {

using test::refused;

const double kInnerRadius = 8 * (3 - std::sqrt(5.0)) / 2;  // R / phi^2
// The pentagram's centres have mean 0 and, by its 5-fold symmetry, an isotropic covariance: 5
// points at radius r equally spaced in angle have sum of x^2 = 5 r^2 / 2, so over the 10 centres
// the variance per coordinate is (R^2 + r^2) / 4.
const double kCenterVariance = (64 + kInnerRadius * kInnerRadius) / 4;

// Each row of points repeated `times` times.
torch::Tensor repeated(const torch::Tensor& points, int64_t times) { return points.repeat_interleave(times, 0); }

TEST(GanMetrics, PointMassesOnEveryCenterCoverAllModes) {
  for (const double modeStd : {0.2, 1.0}) {
    const Mixture mixture = pentagramMixture(8, modeStd);
    const GanMetrics metrics = evaluate(mixture, repeated(mixture.centers, 3));
    EXPECT_EQ(metrics.modesCovered, 10);
    EXPECT_EQ(metrics.highQualityShare, 1);
    // Same means; covariances v I (the centres) and (v + std^2) I: the trace term is
    // 2 (v + v + std^2 - 2 sqrt(v (v + std^2))) = 2 (sqrt(v + std^2) - sqrt(v))^2.
    const double gap = std::sqrt(kCenterVariance + modeStd * modeStd) - std::sqrt(kCenterVariance);
    EXPECT_NEAR(metrics.frechetDistance, 2 * gap * gap, 1e-12) << "std " << modeStd;
  }
}

TEST(GanMetrics, ACollapseOntoOneCenterCoversOneMode) {
  const Mixture mixture = pentagramMixture();
  // All 50 samples at the top point (0, 8).
  const GanMetrics metrics = evaluate(mixture, repeated(mixture.centers.narrow(0, 0, 1), 50));
  EXPECT_EQ(metrics.modesCovered, 1);
  EXPECT_EQ(metrics.highQualityShare, 1);
  // Mean gap 8^2; the fitted covariance is 0, so the trace term is tr of the mixture's: 2 (v + std^2).
  EXPECT_NEAR(metrics.frechetDistance, 64 + 2 * (kCenterVariance + 0.04), 1e-12);
  // The samples fill one grid cell, a corner of the mode at a cell's corner (the cells are one std
  // wide), whose true mass is q = (Phi(1) - Phi(0))^2 / 10 (the other modes are > 25 std away).
  // There p = 1, m = (1 + q) / 2; elsewhere p = 0, m = q_i / 2, and q sums to 1 - q:
  // JS = (ln(1 / m) + q ln(q / m) + (1 - q) ln 2) / 2.
  const double halfMass = std::erf(1 / std::sqrt(2.0)) / 2;
  const double q = halfMass * halfMass / 10;
  const double m = (1 + q) / 2;
  EXPECT_NEAR(metrics.jensenShannon, (std::log(1 / m) + q * std::log(q / m) + (1 - q) * std::log(2.0)) / 2, 1e-12);
}

TEST(GanMetrics, ASampleOfTheTrueMixtureScoresNearPerfect) {
  const Mixture mixture = pentagramMixture();
  const MetricOptions options;
  at::Generator gen = at::detail::createCPUGenerator(3);
  const int64_t count = 20000;
  const GanMetrics metrics = evaluate(mixture, sample(mixture, count, gen), options);
  EXPECT_EQ(metrics.modesCovered, 10);
  // In 2-D, |noise| / std is chi with 2 degrees of freedom: P(within 3 std) = 1 - e^(-9/2), and
  // the modes' 3-std discs are disjoint. Binomial spread sqrt(p (1 - p) / count) = 0.0007; 5 of those.
  const double nearShare = 1 - std::exp(-4.5);
  EXPECT_NEAR(metrics.highQualityShare, nearShare, 5 * std::sqrt(nearShare * (1 - nearShare) / count));
  // For p the sample's cell shares and q the true masses, JS <= sum (p - q)^2 / (p + q) / 4
  // (each KL to the midpoint is at most its chi-square), and per cell (p - q)^2 / (p + q) is at
  // most |p - q| (expectation <= 2 q) and at most (p - q)^2 / q (expectation <= 1 / count). So the
  // expected JS is at most sum_i min(1 / count, 2 q_i) / 4 (about 0.006 here, against 0.19 for the
  // best GAN published); this seed's value is allowed up to twice that.
  const torch::Tensor q = cellMasses(mixture, options);
  const double expectedBound = torch::minimum(torch::full_like(q, 1.0 / count), 2 * q).sum().item<double>() / 4;
  EXPECT_GT(metrics.jensenShannon, 0);
  EXPECT_LT(metrics.jensenShannon, 2 * expectedBound);
  // The fitted mean misses the true one by tr(S) / count in expectation (S = (v + std^2) I, so
  // 0.0018 here) and the fitted covariance adds a term of the same order: over 300 seeds (numpy)
  // the distance averaged 1.5 tr(S) / count, its 99th percentile 4.9. Allowed 10 of tr(S) / count.
  EXPECT_LT(metrics.frechetDistance, 10 * 2 * (kCenterVariance + 0.04) / count);
}

// A mixture of one standard normal at the origin on a 2x2 grid so wide (+-40 std) that each
// quadrant cell holds exactly a quarter and the outside cell nothing.
class TinyGridTest : public ::testing::Test {
 protected:
  const Mixture mixture_{torch::zeros({1, 2}, torch::kFloat64), 1};
  MetricOptions options_ = [] {
    MetricOptions o;
    o.gridBins = 2;
    o.gridHalfWidth = 40;
    return o;
  }();
  // count samples in the quadrant of signs (sx, sy).
  static torch::Tensor quadrant(double sx, double sy, int64_t count) {
    return repeated(torch::tensor({{sx * 1.5, sy * 0.5}}, torch::kFloat64), count);
  }
  double jensenShannon(const std::vector<torch::Tensor>& parts) { return evaluate(mixture_, torch::cat(parts), options_).jensenShannon; }
};

TEST_F(TinyGridTest, CellMassesAreQuarters) {
  EXPECT_TRUE(torch::equal(cellMasses(mixture_, options_), torch::tensor({0.25, 0.25, 0.25, 0.25, 0.0}, torch::kFloat64)));
}

TEST_F(TinyGridTest, ThreeSamplesPerCellMatchTheMixtureExactly) {
  EXPECT_EQ(jensenShannon({quadrant(-1, -1, 3), quadrant(-1, 1, 3), quadrant(1, -1, 3), quadrant(1, 1, 3)}), 0);
}

TEST_F(TinyGridTest, UnevenCellsGiveTheHandComputedDivergence) {
  // p = (1/2, 1/4, 1/4, 0), q = (1/4, 1/4, 1/4, 1/4), m = (3/8, 1/4, 1/4, 1/8):
  // KL(p || m) = 1/2 ln(4/3); KL(q || m) = 1/4 ln(2/3) + 1/4 ln 2 = 1/4 ln(4/3);
  // JS = (1/2 + 1/4) ln(4/3) / 2 = 3/8 ln(4/3).
  EXPECT_NEAR(jensenShannon({quadrant(-1, -1, 6), quadrant(-1, 1, 3), quadrant(1, -1, 3)}), 0.375 * std::log(4.0 / 3), 1e-15);
}

TEST_F(TinyGridTest, SamplesOutsideTheGridAreDisjointFromTheMixture) {
  // All mass in the outside cell (the grid is half-open: 40 is outside), where the mixture has
  // none: the maximum, ln 2.
  EXPECT_NEAR(jensenShannon({torch::tensor({{100.0, 0.0}, {0.0, 40.0}}, torch::kFloat64)}), std::log(2.0), 1e-15);
}

TEST(GanMetrics, AModeIsCoveredFromTheMinimumShareOn) {
  const Mixture mixture = pentagramMixture();
  // 99 samples at centre 0, 1 at centre 1: shares 0.99 and 0.01.
  const torch::Tensor generated = torch::cat({repeated(mixture.centers.narrow(0, 0, 1), 99), mixture.centers.narrow(0, 1, 1)});
  MetricOptions options;
  EXPECT_EQ(evaluate(mixture, generated, options).modesCovered, 2);
  options.minimumShare = 0.02;
  EXPECT_EQ(evaluate(mixture, generated, options).modesCovered, 1);
  // Just beyond 3 std of centre 1, that sample is no longer high quality.
  const torch::Tensor offset = torch::tensor({{0.0, 0.0}, {0.6 + 1e-9, 0.0}}, torch::kFloat64).repeat_interleave(torch::tensor({99, 1}), 0);
  const GanMetrics moved = evaluate(mixture, generated + offset);
  EXPECT_EQ(moved.modesCovered, 1);
  EXPECT_EQ(moved.highQualityShare, 0.99);
}

// Tr((a b)^(1/2)) as sum sqrt(eig(a^(1/2) b a^(1/2))), a^(1/2) from a's eigendecomposition.
double traceSqrtByEigh(const torch::Tensor& a, const torch::Tensor& b) {
  const auto [values, vectors] = torch::linalg_eigh(a);
  const torch::Tensor root = vectors.mm(torch::diag(values.clamp_min(0).sqrt())).mm(vectors.t());
  return std::get<0>(torch::linalg_eigh(root.mm(b).mm(root))).clamp_min(0).sqrt().sum().item<double>();
}

TEST(TraceSqrtOfProduct, MatchesAnEigendecompositionOnRandomPositiveDefinitePairs) {
  at::Generator gen = at::detail::createCPUGenerator(5);
  for (int pair = 0; pair < 50; ++pair) {
    const torch::Tensor x = torch::randn({2, 2}, gen, torch::kFloat64);
    const torch::Tensor y = torch::randn({2, 2}, gen, torch::kFloat64);
    const torch::Tensor a = x.mm(x.t()) + 0.01 * torch::eye(2, torch::kFloat64);
    const torch::Tensor b = y.mm(y.t()) + 0.01 * torch::eye(2, torch::kFloat64);
    const double expected = traceSqrtByEigh(a, b);
    EXPECT_NEAR(traceSqrtOfProduct(a, b), expected, 1e-12 * expected) << "pair " << pair;
  }
}

TEST(TraceSqrtOfProduct, OfTwoRankOneMatricesIsTheirVectorsDotProduct) {
  // (u u^T)(v v^T) = (u . v) u v^T has the one non-zero eigenvalue (u . v)^2.
  const torch::Tensor u = torch::tensor({{1.0}, {2.0}}, torch::kFloat64);
  const torch::Tensor v = torch::tensor({{3.0}, {-0.5}}, torch::kFloat64);
  EXPECT_NEAR(traceSqrtOfProduct(u.mm(u.t()), v.mm(v.t())), 2.0, 1e-12);
  EXPECT_EQ(traceSqrtOfProduct(torch::zeros({2, 2}, torch::kFloat64), v.mm(v.t())), 0);
}

TEST(GanMetrics, RefusesBadSamplesAndOptions) {
  const Mixture mixture = pentagramMixture();
  const auto refusedSamples = [&](const torch::Tensor& generated, const std::string& code, const std::string& phrase) {
    return refused([&] { evaluate(mixture, generated); }, code, phrase);
  };
  EXPECT_TRUE(refusedSamples(torch::zeros({5, 3}), "SHAPE_MISMATCH", "generated must be [N, 2], got [5, 3]"));
  EXPECT_TRUE(refusedSamples(torch::zeros({10}), "SHAPE_MISMATCH", "generated must be [N, 2], got [10]"));
  EXPECT_TRUE(refusedSamples(torch::Tensor(), "SHAPE_MISMATCH", "generated must be [N, 2], got undefined"));
  EXPECT_TRUE(refusedSamples(torch::zeros({1, 2}), "INVALID_ARGUMENT", "generated needs at least 2 samples"));
  EXPECT_TRUE(refusedSamples(torch::tensor({{0.0, 1.0}, {std::nan(""), 2.0}}), "NON_FINITE", "generated"));
  EXPECT_TRUE(refusedSamples(torch::tensor({{0.0, 1.0}, {HUGE_VAL, 2.0}}), "NON_FINITE", "generated"));
  const torch::Tensor fine = repeated(mixture.centers, 2);
  const auto refusedOptions = [&](MetricOptions options, const std::string& phrase) {
    return refused([&] { evaluate(mixture, fine, options); }, "INVALID_ARGUMENT", phrase);
  };
  MetricOptions options;
  options.minimumShare = 0;
  EXPECT_TRUE(refusedOptions(options, "minimumShare"));
  options = {};
  options.gridBins = 0;
  EXPECT_TRUE(refusedOptions(options, "gridBins"));
  options = {};
  options.gridHalfWidth = -1;
  EXPECT_TRUE(refusedOptions(options, "gridHalfWidth"));
}

TEST(GanMetrics, ReadsSamplesOfAnyFloatingTypeAsFloat64) {
  const Mixture mixture = pentagramMixture();
  const torch::Tensor generated = torch::tensor({{0.5, 7.0}, {-3.0, 1.25}, {2.0, -6.5}}, torch::kFloat64);
  const GanMetrics asDouble = evaluate(mixture, generated);
  const GanMetrics asFloat = evaluate(mixture, generated.to(torch::kFloat32));  // these values are exact in float32
  EXPECT_EQ(asFloat.jensenShannon, asDouble.jensenShannon);
  EXPECT_EQ(asFloat.frechetDistance, asDouble.frechetDistance);
}

}  // namespace
}  // namespace bilevel::core::gan

// The GAN metrics (see metrics.h).
#include "core/tasks/gan/metrics.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>

#include "core/error.h"

namespace bilevel::core::gan {
namespace {

constexpr double kHighQualityStds = 3;

std::string shapeOf(const torch::Tensor& t) {
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}

// generated as float64 on the CPU, refused unless [N >= 2, 2] and finite.
torch::Tensor checkedSamples(const torch::Tensor& generated) {
  if (!generated.defined() || generated.dim() != 2 || generated.size(1) != 2) {
    throw Error("SHAPE_MISMATCH", "generated must be [N, 2], got " + (generated.defined() ? shapeOf(generated) : "undefined"));
  }
  if (generated.size(0) < 2) {
    throw Error("INVALID_ARGUMENT", "generated needs at least 2 samples to fit a Gaussian, got " + std::to_string(generated.size(0)));
  }
  torch::Tensor samples = generated.detach().to(torch::kCPU, torch::kFloat64);
  if (!torch::isfinite(samples).all().item<bool>()) throw Error("NON_FINITE", "generated holds a NaN or infinite value");
  return samples;
}

void checkOptions(const MetricOptions& o) {
  if (!(o.minimumShare > 0 && o.minimumShare <= 1)) {
    throw Error("INVALID_ARGUMENT", "minimumShare must be in (0, 1], got " + std::to_string(o.minimumShare));
  }
  if (o.gridBins < 1) throw Error("INVALID_ARGUMENT", "gridBins must be at least 1, got " + std::to_string(o.gridBins));
  if (!(std::isfinite(o.gridHalfWidth) && o.gridHalfWidth > 0)) {
    throw Error("INVALID_ARGUMENT", "gridHalfWidth must be a positive finite number, got " + std::to_string(o.gridHalfWidth));
  }
}

// Each mode's share of samples within 3 std of its centre ([modes]) and the share within 3 std
// of any centre.
std::pair<torch::Tensor, double> nearModeShares(const Mixture& mixture, const torch::Tensor& samples) {
  const torch::Tensor distances = (samples.unsqueeze(1) - mixture.centers.unsqueeze(0)).norm(2, -1);
  const torch::Tensor near = distances <= kHighQualityStds * mixture.std;
  const double count = static_cast<double>(samples.size(0));
  return {near.sum(0).to(torch::kFloat64) / count, near.any(1).sum().item<double>() / count};
}

// The share of samples in each cell of cellMasses' layout.
torch::Tensor sampleShares(const torch::Tensor& samples, const MetricOptions& o) {
  const double width = 2 * o.gridHalfWidth / static_cast<double>(o.gridBins);
  const torch::Tensor inside = ((samples >= -o.gridHalfWidth) & (samples < o.gridHalfWidth)).all(1);
  // Clamped before the cast: far samples would overflow int64, and a sample just below the upper
  // edge can round onto it.
  const torch::Tensor bins = ((samples + o.gridHalfWidth) / width).floor().clamp(0, static_cast<double>(o.gridBins - 1)).to(torch::kInt64);
  const torch::Tensor cell = torch::where(inside, bins.select(1, 0) * o.gridBins + bins.select(1, 1), o.gridBins * o.gridBins);
  return torch::bincount(cell, {}, o.gridBins * o.gridBins + 1).to(torch::kFloat64) / static_cast<double>(samples.size(0));
}

// In nats; the cells empty in both distributions add nothing and are left out (0/0 there).
double jensenShannonOf(const torch::Tensor& p, const torch::Tensor& q) {
  const torch::Tensor mean = (p + q) / 2;
  const torch::Tensor kept = mean > 0;
  const torch::Tensor m = mean.masked_select(kept);
  const torch::Tensor pk = p.masked_select(kept);
  const torch::Tensor qk = q.masked_select(kept);
  return ((torch::xlogy(pk, pk / m) + torch::xlogy(qk, qk / m)).sum() / 2).item<double>();
}

// Maximum-likelihood fit (divided by the count, so a set of points is measured as the
// distribution it is; the unbiased N - 1 would differ by O(1/N)): mean [2], covariance [2, 2].
std::pair<torch::Tensor, torch::Tensor> fittedGaussian(const torch::Tensor& points) {
  const torch::Tensor mean = points.mean(0);
  const torch::Tensor centered = points - mean;
  return {mean, centered.t().mm(centered) / static_cast<double>(points.size(0))};
}

// The mixture's exact moments: the mean of the centres; the covariance of the centres (as equally
// weighted points) plus each mode's std^2 I (law of total covariance).
std::pair<torch::Tensor, torch::Tensor> mixtureGaussian(const Mixture& mixture) {
  auto [mean, covariance] = fittedGaussian(mixture.centers);
  return {mean, covariance + mixture.std * mixture.std * torch::eye(2, torch::kFloat64)};
}

double frechetDistanceOf(const Mixture& mixture, const torch::Tensor& samples) {
  const auto [meanG, covG] = fittedGaussian(samples);
  const auto [meanT, covT] = mixtureGaussian(mixture);
  const double meanGap = (meanG - meanT).square().sum().item<double>();
  return meanGap + (covG.trace() + covT.trace()).item<double>() - 2 * traceSqrtOfProduct(covG, covT);
}

}  // namespace

torch::Tensor cellMasses(const Mixture& mixture, const MetricOptions& options) {
  checkOptions(options);
  const torch::Tensor edges = torch::linspace(-options.gridHalfWidth, options.gridHalfWidth, options.gridBins + 1, torch::kFloat64);
  // Per mode and axis, the normal CDF at each edge ([modes, bins + 1]), then its steps ([modes, bins]).
  auto binMasses = [&](int64_t axis) {
    const torch::Tensor z = (edges.unsqueeze(0) - mixture.centers.select(1, axis).unsqueeze(1)) / mixture.std;
    const torch::Tensor cdf = torch::erfc(-z / std::sqrt(2.0)) / 2;
    return cdf.narrow(1, 1, options.gridBins) - cdf.narrow(1, 0, options.gridBins);
  };
  // Each mode's cell mass is the product of its x and y bin masses; the modes weigh 1 / modes each.
  const torch::Tensor inside = binMasses(0).t().mm(binMasses(1)).flatten() / static_cast<double>(mixture.centers.size(0));
  const torch::Tensor outside = (1 - inside.sum()).clamp_min(0).reshape({1});
  return torch::cat({inside, outside});
}

double traceSqrtOfProduct(const torch::Tensor& a, const torch::Tensor& b) {
  // a b is similar to a^(1/2) b a^(1/2), which is symmetric positive semi-definite: its
  // eigenvalues l1, l2 are real and >= 0, the square root's are their roots, and
  // (sqrt l1 + sqrt l2)^2 = l1 + l2 + 2 sqrt(l1 l2) = tr(a b) + 2 sqrt(det(a b)).
  // Clamped at 0: rounding can make a zero determinant slightly negative.
  const torch::Tensor product = a.mm(b);
  const double determinant = (product[0][0] * product[1][1] - product[0][1] * product[1][0]).item<double>();
  const double trace = product.trace().item<double>();
  return std::sqrt(std::max(0.0, trace + 2 * std::sqrt(std::max(0.0, determinant))));
}

GanMetrics evaluate(const Mixture& mixture, const torch::Tensor& generated, const MetricOptions& options) {
  checkOptions(options);
  const torch::Tensor samples = checkedSamples(generated);
  const auto [modeShares, highQualityShare] = nearModeShares(mixture, samples);
  return {
      (modeShares >= options.minimumShare).sum().item<double>(),
      highQualityShare,
      jensenShannonOf(sampleShares(samples, options), cellMasses(mixture, options)),
      frechetDistanceOf(mixture, samples),
  };
}

}  // namespace bilevel::core::gan

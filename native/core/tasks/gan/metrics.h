// How close a GAN's generated 2-D samples are to the mixture it learns (docs/algorithms.md §12):
// modes covered, Jensen-Shannon divergence on a grid, and the Frechet distance between fitted
// Gaussians. Everything is computed in float64 on the CPU.
#pragma once
#include <torch/torch.h>

#include <cstdint>

#include "core/tasks/gan/mixture.h"

namespace bilevel::core::gan {

struct MetricOptions {
  // A mode is covered when at least this share of the generated samples lies within 3 std of its
  // centre. The true mixture puts (1 - e^-4.5) / 10 = 9.9% there, so 1% is a tenth of that: a
  // mode the generator reaches only with stray samples is not covered, one it under-weights is
  // (the 2-D mode counts in the GAN literature use a fixed count of such "high quality" samples;
  // a share does not depend on how many samples are evaluated).
  double minimumShare = 0.01;
  // The Jensen-Shannon grid: gridBins x gridBins square cells over [-gridHalfWidth, gridHalfWidth]^2,
  // plus one cell for everything outside it. The defaults cover the default pentagram (centres
  // within 8 of the origin in each coordinate) with 10 std to spare, in cells one std wide.
  int64_t gridBins = 100;
  double gridHalfWidth = 10;
};

struct GanMetrics {
  double modesCovered;      // of the mixture's modes
  double highQualityShare;  // share of the generated samples within 3 std of some centre
  double jensenShannon;     // natural log: in [0, ln 2]
  double frechetDistance;   // between Gaussians fitted to the generated samples and to the mixture
};

// generated: [N, 2] with N >= 2, finite (any dtype and device; read as float64 on the CPU).
GanMetrics evaluate(const Mixture& mixture, const torch::Tensor& generated, const MetricOptions& options = {});

// The mixture's mass in each grid cell, row-major over (x bin, y bin), then the mass outside the
// grid: [gridBins^2 + 1], summing to 1.
torch::Tensor cellMasses(const Mixture& mixture, const MetricOptions& options);

// Tr((a b)^(1/2)) for symmetric positive semi-definite 2x2 a and b.
double traceSqrtOfProduct(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace bilevel::core::gan

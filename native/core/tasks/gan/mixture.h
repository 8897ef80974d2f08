// The GAN task's data (docs/algorithms.md §12): a 2-D mixture of 10 equally weighted isotropic
// Gaussians centred on the vertices of a regular pentagram, and a sampler of it.
//
// The pentagram of maximum radius R has its 5 outer points at radius R (angles 90 + 72k degrees)
// and its 5 inner vertices, where its edges cross, at radius R cos 72 / cos 36 = R / phi^2
// (angles 126 + 72k degrees). The paper gives R = 8 but no standard deviation; 0.2 is the default
// because it keeps the modes far apart relative to their width (the closest centres, adjacent inner
// vertices, are 2 (R / phi^2) sin 36 = 3.59 apart: 18 std, so the 3-std discs the coverage metric
// counts in never overlap) while a mode still spans several cells of the metrics' 0.2-wide grid,
// so the Jensen-Shannon divergence sees its shape, not one cell.
#pragma once
#include <torch/torch.h>

#include <cstdint>

namespace bilevel::core::gan {

struct Mixture {
  torch::Tensor centers;  // [modes, 2] float64, CPU; the modes are equally weighted
  double std;             // of every mode, in each coordinate
};

// The 10 centres in order of angle from 90 degrees counter-clockwise (outer, inner, outer, ...).
Mixture pentagramMixture(double radius = 8, double std = 0.2);

// count points [count, 2] float64 on the CPU: for each a mode drawn uniformly, then Gaussian noise
// (all modes first, then all noise, from gen), so a seed gives the same numbers on every device.
torch::Tensor sample(const Mixture& mixture, int64_t count, at::Generator& gen);

}  // namespace bilevel::core::gan

// GAN as a bilevel problem (docs/algorithms.md §12): x = the generator's parameters, y = the
// discriminator's. The LL trains the discriminator as a classifier of real against generated
// samples, f(x, y) = -[log D(u) + log(1 - D(G(v)))]; the UL trains the generator against it with
// the non-saturating loss F(x, y) = -log D(G(v)). Data u (the pentagram mixture) and noise v are
// fresh for every LL step and UL iteration, drawn by the task's sampler.
#pragma once
#include <memory>

#include "core/option_fields.h"
#include "core/problem.h"

namespace bilevel::core {

struct GanOptions {
  int64_t noiseSize = 16;            // v's dimension
  int64_t hidden = 128;              // units of each hidden layer (the generator has two, the discriminator one)
  int64_t batchSize = 256;           // real and generated samples per evaluation of F or f
  int64_t evaluationSamples = 2500;  // generated samples the metrics are computed on (fixed noise)
  int64_t seed = 0;                  // the streams "init" (both networks), "sampling", "evaluation"
  torch::Dtype dtype = torch::kFloat32;
  torch::Device device = torch::kCPU;
};

std::shared_ptr<Problem> makeGanProblem(const GanOptions& options);

const OptionFields<GanOptions>& ganFields();

}  // namespace bilevel::core

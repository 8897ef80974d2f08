// Architecture search in the DARTS space (docs/algorithms.md §14.6): x = the architecture weights
// (alpha.normal, alpha.reduce), y = the search network's weights; f is the cross-entropy on a
// mini-batch of the training half, F on one of the validation half, both fresh every LL step and
// UL iteration. The LL DARTS trains with is heavyBall dynamics, warm-started.
#pragma once
#include <memory>
#include <string>

#include "core/option_fields.h"
#include "core/problem.h"

namespace bilevel::core {

struct NasOptions {
  std::string dataset = "fashion-mnist";  // "fashion-mnist" (IDX, padded to 32 x 32), "cifar10" (binary batches) or "folders" (PNG / JPEG per class)
  std::string root;                       // the folder with the dataset's files
  int64_t channels = 16;                  // C of the search network's first cells
  int64_t cells = 8;
  int64_t nodes = 4;                      // intermediate nodes per cell
  int64_t trainSize = 25000;              // rows of the training set f draws from
  int64_t validationSize = 25000;         // the next rows, which F draws from
  int64_t testSize = 10000;               // test images the metrics classify
  int64_t metricsSize = 10000;            // images of each half the metrics score (the first)
  int64_t batchSize = 64;                 // rows per LL step and per UL iteration
  int64_t seed = 0;                       // the split, the networks' start, the sampling stream
  torch::Dtype dtype = torch::kFloat32;
  torch::Device device = torch::kCPU;
};

std::shared_ptr<Problem> makeNasProblem(const NasOptions& options);

// The options a config may give (all but dtype and device).
const OptionFields<NasOptions>& nasFields();

}  // namespace bilevel::core

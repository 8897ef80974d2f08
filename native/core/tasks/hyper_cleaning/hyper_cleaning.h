// Data hyper-cleaning (docs/algorithms.md §9): x holds one logit per training sample, the LL
// model y is trained on the sigmoid(x)-weighted training loss, F is the validation loss.
#pragma once
#include <memory>
#include <string>

#include "core/option_fields.h"
#include "core/problem.h"

namespace bilevel::core {

struct HyperCleaningOptions {
  std::string dataset = "fashion-mnist";  // "fashion-mnist", "mnist" (IDX files), "cifar10" (binary batches)
  std::string root;                       // the folder with the dataset's files
  std::string model = "linear";           // "linear" (convex LL) or "mlp" (one hidden layer, non-convex)
  int64_t hidden = 300;
  int64_t trainSize = 5000;
  int64_t validationSize = 5000;
  int64_t testSize = 10000;
  double corruption = 0.5;  // the share of training labels moved to another class
  int64_t batchSize = 0;    // f on this many training rows per LL step (the "sampling" stream); 0: all
  int64_t seed = 0;         // the split, the corruption, the mlp's start; and the sampling stream
  torch::Dtype dtype = torch::kFloat32;
  torch::Device device = torch::kCPU;
};

std::shared_ptr<Problem> makeHyperCleaningProblem(const HyperCleaningOptions& options);

// The options a config may give (all but dtype and device).
const OptionFields<HyperCleaningOptions>& hyperCleaningFields();

}  // namespace bilevel::core

// Retraining a genotype from scratch (docs/algorithms.md §14.9), DARTS's train.py as a problem for
// the training solver: y = the evaluation network's weights; f is the cross-entropy of a training
// mini-batch, augmented (crop, flip, cutout) and with drop path, plus auxiliaryWeight times the
// auxiliary head's; F (the record's) the cross-entropy of a test mini-batch. No UL variables.
#pragma once
#include <memory>
#include <string>

#include "core/option_fields.h"
#include "core/problem.h"

namespace bilevel::core {

struct NasRetrainOptions {
  std::string dataset = "fashion-mnist";  // as the nas task's
  std::string root;
  std::string genotype;                   // core/models/darts/genotype_text.h
  int64_t channels = 36;                  // C of the evaluation network's first cells
  int64_t cells = 20;
  int64_t trainSize = 50000;              // training images (the first of the seed's permutation)
  int64_t validationSize = 0;             // the next ones, held out and scored by the metrics (to select by)
  int64_t testSize = 10000;
  int64_t batchSize = 96;
  int64_t epochs = 600;                   // what drop path's schedule spans: dropPath * epoch / epochs
  double dropPath = 0.2;
  double auxiliaryWeight = 0.4;           // 0: no auxiliary head
  int64_t cutout = 16;                    // the side of the square cut out; 0: none
  int64_t cropPadding = 4;                // 0: no random crop
  bool flip = true;
  int64_t statisticsSize = 10000;         // training images the metrics' batch-norm statistics average over
  int64_t seed = 0;                       // the split, the network's start, the sampling and augmentation stream
  torch::Dtype dtype = torch::kFloat32;
  torch::Device device = torch::kCPU;
};

std::shared_ptr<Problem> makeNasRetrainProblem(const NasRetrainOptions& options);

// The options a config may give (all but dtype and device).
const OptionFields<NasRetrainOptions>& nasRetrainFields();

}  // namespace bilevel::core

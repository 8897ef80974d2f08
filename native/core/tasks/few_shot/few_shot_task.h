// Few-shot classification as a bilevel problem (docs/algorithms.md §13): x = a ConvNet-4 backbone
// shared by all tasks, y = one linear head per task of the meta-batch (W [B, N, D], b [B, N]).
// f = sum over the meta-batch of the support cross-entropies, F = the same of the query
// cross-entropies; each UL iteration draws its own meta-batch of training episodes. Within an
// unroll the backbone's features of the episodes are computed once and reused by all K LL steps
// (the heads are all that moves there); gradients reach the backbone through them.
#pragma once
#include <memory>
#include <string>

#include "core/option_fields.h"
#include "core/problem.h"

namespace bilevel::core {

struct FewShotOptions {
  std::string dataset = "double-mnist";  // the offline benchmark from MNIST, or "double-fashion-mnist"
  std::string root;                      // the folder of the source's IDX files
  int64_t imagesPerClass = 200;          // composites per class
  int64_t imageSize = 28;                // images are resized to imageSize x imageSize
  int64_t ways = 5;
  int64_t shots = 1;
  int64_t queries = 15;
  int64_t metaBatch = 4;                 // training episodes (tasks) per UL iteration
  int64_t channels = 32;                 // the backbone's filters per block
  int64_t evaluationEpisodes = 600;      // test episodes of the metrics
  int64_t adaptSteps = 10;               // gd steps on a test episode's head, from zero
  double adaptLr = 0.1;
  int64_t seed = 0;                      // streams: the benchmark's classes and composites, "init", the episodes
  torch::Dtype dtype = torch::kFloat32;
  torch::Device device = torch::kCPU;
};

std::shared_ptr<Problem> makeFewShotProblem(const FewShotOptions& options);

const OptionFields<FewShotOptions>& fewShotFields();

}  // namespace bilevel::core

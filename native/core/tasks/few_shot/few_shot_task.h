// Few-shot classification as a bilevel problem (docs/algorithms.md §13): episodes of N ways drawn
// from a benchmark's classes; f = sum over the meta-batch of the support cross-entropies (plus an
// optional regularizer of the heads), F = the same of the query cross-entropies; each UL iteration
// draws its own meta-batch of training episodes. Two layouts of x and y (episodic_problem.h): a
// ConvNet-4 backbone x with one linear head per task as y, or MAML's (x = the initialization of
// the whole network, y = each task's offset from it).
#pragma once
#include <memory>
#include <string>

#include "core/models/model.h"
#include "core/option_fields.h"
#include "core/problem.h"

namespace bilevel::core {

struct FewShotOptions {
  std::string dataset = "double-mnist";  // few_shot_data.h: double-mnist, double-fashion-mnist, idx, folders, omniglot, mini-imagenet
  std::string root;                      // the dataset's folder
  std::string cacheDir;                  // where decoded image files are kept; empty: not kept
  int64_t imagesPerClass = 200;          // composites per class (double-*)
  int64_t imageSize = 28;                // images are resized to imageSize x imageSize
  int64_t ways = 5;
  int64_t shots = 1;
  int64_t queries = 15;
  int64_t metaBatch = 4;                 // training episodes (tasks) per UL iteration
  std::string backbone = "convnet4";     // or "resnet12"
  int64_t channels = 32;                 // the backbone's first block's filters (backboneNetwork)
  std::string layout = "heads";          // "heads" or "maml"
  std::string regularizer = "none";      // of each task's head in f: "none", "lq" or "smoothed-lq" (head_regularizer.h)
  double regularizerWeight = 0.25;
  double regularizerQ = 0.5;
  double regularizerEpsilon = 0.1;
  int64_t evaluationEpisodes = 600;      // test episodes of the metrics
  int64_t adaptSteps = 10;               // gd steps on a test episode's y (its head; its offsets under maml), from zero
  double adaptLr = 0.1;
  int64_t seed = 0;                      // streams: the benchmark's classes and composites, "init", the episodes
  torch::Dtype dtype = torch::kFloat32;
  torch::Device device = torch::kCPU;
};

std::shared_ptr<Problem> makeFewShotProblem(const FewShotOptions& options);

// The backbone for images of inChannels, with a linear head to `classes` logits (0: none, the
// output is its features): ConvNet-4 of `channels` filters per block, or ResNet-12 of widths
// channels x (1, 2.5, 5, 10) (64 gives the usual 64, 160, 320, 640).
std::shared_ptr<const models::Model> backboneNetwork(const FewShotOptions& options, int64_t inChannels, int64_t classes);
// The features per image of that backbone without its head.
int64_t backboneFeatures(const FewShotOptions& options);

const OptionFields<FewShotOptions>& fewShotFields();

// The settings metrics() takes (each defaults to the task's own option): test episodes
// 0 .. episodes - 1, each adapting y from its start by adaptSteps gd steps of size adaptLr on the
// episode's f, then its query accuracy.
struct FewShotEvaluation {
  int64_t episodes = 600;
  int64_t adaptSteps = 10;
  double adaptLr = 0.1;
};
const OptionFields<FewShotEvaluation>& fewShotEvaluationFields();

}  // namespace bilevel::core

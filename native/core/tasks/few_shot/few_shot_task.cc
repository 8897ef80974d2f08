#include "core/tasks/few_shot/few_shot_task.h"

#include "core/models/conv_net.h"
#include "core/models/res_net12.h"
#include "core/tasks/few_shot/episodic_problem.h"
#include "core/tasks/few_shot/few_shot_data.h"

namespace bilevel::core {
namespace {

// ResNet-12's widths in the usual proportions 64 : 160 : 320 : 640 from the first block's.
models::ResNet12Options resNetOptions(int64_t channels) {
  return {{channels, (5 * channels + 1) / 2, 5 * channels, 10 * channels}};
}

}  // namespace

const OptionFields<FewShotOptions>& fewShotFields() {
  using O = FewShotOptions;
  static const OptionFields<O> fields = {
      {"dataset", &O::dataset, std::nullopt, {}, {"double-mnist", "double-fashion-mnist", "idx", "folders", "omniglot", "mini-imagenet"}},
      {"root", &O::root, std::nullopt, {}},
      {"cacheDir", &O::cacheDir, std::nullopt, {}},
      {"imagesPerClass", &O::imagesPerClass, 200, between(2, kMaxSamples)},
      {"imageSize", &O::imageSize, 28, between(16, 512)},
      {"ways", &O::ways, 5, between(2, 1000)},
      {"shots", &O::shots, 1, between(1, 1000)},
      {"queries", &O::queries, 15, between(1, 1000)},
      {"metaBatch", &O::metaBatch, 4, between(1, 1000)},
      {"backbone", &O::backbone, std::nullopt, {}, {"convnet4", "resnet12"}},
      {"channels", &O::channels, 32, between(1, 1024)},
      {"layout", &O::layout, std::nullopt, {}, {"heads", "maml"}},
      {"regularizer", &O::regularizer, std::nullopt, {}, {"none", "lq", "smoothed-lq"}},
      {"regularizerWeight", &O::regularizerWeight, 0.25, nonNegative()},
      {"regularizerQ", &O::regularizerQ, 0.5, {0, 1, true, false}},
      {"regularizerEpsilon", &O::regularizerEpsilon, 0.1, positive()},
      {"evaluationEpisodes", &O::evaluationEpisodes, 600, between(1, kMaxSamples)},
      {"adaptSteps", &O::adaptSteps, 10, between(0, kMaxLowerSteps)},
      {"adaptLr", &O::adaptLr, 0.1, positive()},
      {"seed", &O::seed, 0, between(0, kMaxSeed)},
  };
  return fields;
}

const OptionFields<FewShotEvaluation>& fewShotEvaluationFields() {
  using O = FewShotEvaluation;
  static const OptionFields<O> fields = {
      {"episodes", &O::episodes, 600, between(1, kMaxSamples)},
      {"adaptSteps", &O::adaptSteps, 10, between(0, kMaxLowerSteps)},
      {"adaptLr", &O::adaptLr, 0.1, positive()},
  };
  return fields;
}

std::shared_ptr<const models::Model> backboneNetwork(const FewShotOptions& o, int64_t inChannels, int64_t classes) {
  if (o.backbone == "convnet4") return models::convNet4(inChannels, o.channels, o.imageSize, classes);
  return models::resNet12(inChannels, o.imageSize, classes, resNetOptions(o.channels));
}

int64_t backboneFeatures(const FewShotOptions& o) {
  if (o.backbone == "convnet4") return models::convNet4Features(o.channels, o.imageSize);
  return models::resNet12Features(o.imageSize, resNetOptions(o.channels));
}

std::shared_ptr<Problem> makeFewShotProblem(const FewShotOptions& o) {
  checkDeclared(fewShotFields(), o, "fewShot");
  FewShotClasses classes = readFewShotClasses(o);
  EpisodicData data{std::make_shared<const ClassImages>(std::move(classes.train)), std::move(classes.test), nullptr};
  const EpisodeShape shape{o.ways, o.shots, o.queries};
  checkEpisodeShape(*data.train, "train", shape);
  checkEpisodeShape(data.test, "test", shape);
  data.backbone = backboneNetwork(o, data.train->images.front().size(1), 0);
  return o.layout == "maml" ? mamlProblem(std::move(data), o) : headsProblem(std::move(data), o);
}

}  // namespace bilevel::core

#include "core/tasks/few_shot/few_shot_task.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>

#include "core/data/generator_stream.h"
#include "core/datasets.h"
#include "core/error.h"
#include "core/models/conv_net.h"
#include "core/tasks/few_shot/episodes.h"
#include "core/tasks/few_shot/pair_composites.h"
#include "core/unroll_scope.h"

namespace bilevel::core {
namespace {

namespace F = torch::nn::functional;

constexpr const char* kTrain = "train";
constexpr const char* kTest = "test";

// Each class's images area-averaged to size x size (the composites are twice as wide as high).
ClassImages resized(ClassImages split, int64_t size) {
  for (torch::Tensor& images : split.images) {
    const torch::Tensor area = F::interpolate(images.to(torch::kFloat32),
                                              F::InterpolateFuncOptions().size(std::vector<int64_t>{size, size}).mode(torch::kArea));
    images = area.round().clamp(0, 255).to(torch::kUInt8).contiguous();
  }
  return split;
}

// Episodes first .. first + count - 1 of a split as one batch: images [count, n, C, S, S] scaled to
// [0, 1] in the task's dtype and device, labels [count, n].
Batch episodeBatch(const ClassImages& split, const char* splitName, uint64_t seed, int64_t first, int64_t count,
                   const EpisodeShape& shape, const torch::TensorOptions& options) {
  std::vector<torch::Tensor> support, supportLabels, query, queryLabels;
  for (int64_t i = first; i < first + count; ++i) {
    const Episode e = drawEpisode(split, splitName, seed, i, shape);
    support.push_back(e.supportImages);
    supportLabels.push_back(e.supportLabels);
    query.push_back(e.queryImages);
    queryLabels.push_back(e.queryLabels);
  }
  const auto scaled = [&](const std::vector<torch::Tensor>& images) { return torch::stack(images).to(options).div(255); };
  const auto labels = [&](const std::vector<torch::Tensor>& l) { return torch::stack(l).to(options.device()); };
  return Batch({{"supportImages", scaled(support)}, {"supportLabels", labels(supportLabels)},
                {"queryImages", scaled(query)}, {"queryLabels", labels(queryLabels)}});
}

// Draws each UL iteration's meta-batch: training episodes cursor, cursor + 1, ...; the cursor is
// its whole state. The episode batch serves F and every LL step of the iteration.
class EpisodeSampler : public Sampler {
 public:
  EpisodeSampler(std::shared_ptr<const ClassImages> train, EpisodeShape shape, int64_t metaBatch, uint64_t seed,
                 torch::TensorOptions options)
      : train_(std::move(train)), shape_(shape), metaBatch_(metaBatch), seed_(seed), options_(options) {}

  IterationBatches next(int64_t) override {
    IterationBatches batches;
    batches.upper = episodeBatch(*train_, kTrain, seed_, cursor_, metaBatch_, shape_, options_);
    batches.lower = {batches.upper};
    cursor_ += metaBatch_;
    return batches;
  }
  void save(StateWriter& writer, const std::string& prefix) const override { writer.integer(prefix + "cursor", cursor_); }
  Commit load(StateReader& reader, const std::string& prefix) override {
    const int64_t cursor = reader.integer(prefix + "cursor", 0, std::numeric_limits<int64_t>::max());
    return [this, cursor] { cursor_ = cursor; };
  }

 private:
  std::shared_ptr<const ClassImages> train_;
  EpisodeShape shape_;
  int64_t metaBatch_;
  uint64_t seed_;
  torch::TensorOptions options_;
  int64_t cursor_ = 0;
};

// Whether two lists hold the very same tensors (not equal values: the same storage and version).
bool sameTensors(const TensorList& a, const TensorList& b, const std::vector<int64_t>& versions) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].unsafeGetTensorImpl() != b[i].unsafeGetTensorImpl() || a[i]._version() != versions[i]) return false;
  }
  return true;
}

class FewShotProblem : public Problem {
 public:
  FewShotProblem(Variables upper, Variables lower, std::shared_ptr<const models::Model> backbone,
                 std::shared_ptr<const ClassImages> train, ClassImages test, const FewShotOptions& o)
      : Problem(std::move(upper), std::move(lower)),
        backbone_(std::move(backbone)),
        train_(std::move(train)),
        test_(std::move(test)),
        shape_{o.ways, o.shots, o.queries},
        options_(o),
        tensorOptions_(torch::TensorOptions().dtype(o.dtype).device(o.device)),
        fullBatch_(episodeBatch(*train_, kTrain, seed(), 0, o.metaBatch, shape_, tensorOptions_)) {}

  std::unique_ptr<Sampler> sampler() const override {
    return std::make_unique<EpisodeSampler>(train_, shape_, options_.metaBatch, seed(), tensorOptions_);
  }

  // The episodes F and f see without a sampler, and every image of the training and test classes
  // (scaled to [0, 1] in the task's dtype, as F and f see them).
  std::vector<std::pair<std::string, torch::Tensor>> data() const override {
    const auto scaled = [&](const ClassImages& split) { return torch::cat(split.images).to(tensorOptions_).div(255); };
    return {{"trainImages", scaled(*train_)}, {"testImages", scaled(test_)},
            {"episodeSupportImages", fullBatch_.at("supportImages")}, {"episodeSupportLabels", fullBatch_.at("supportLabels")},
            {"episodeQueryImages", fullBatch_.at("queryImages")}, {"episodeQueryLabels", fullBatch_.at("queryLabels")}};
  }

 protected:
  // F: the query cross-entropies summed over the meta-batch (each task's mean over its queries).
  torch::Tensor evaluateUpper(const TensorList& x, const TensorList& y, const Batch& batch) override {
    const Batch& b = batch.empty() ? fullBatch_ : batch;
    return headLoss(features(x, b.at("queryImages")), y, b.at("queryLabels"));
  }
  // f: the same on the support sets.
  torch::Tensor evaluateLower(const TensorList& x, const TensorList& y, const Batch& batch) override {
    const Batch& b = batch.empty() ? fullBatch_ : batch;
    return headLoss(features(x, b.at("supportImages")), y, b.at("supportLabels"));
  }

  // The images are held as bytes; data() converts them.
  int64_t dataBytes() const override {
    int64_t total = 0;
    for (const ClassImages* split : {train_.get(), &test_}) {
      for (const torch::Tensor& images : split->images) total += static_cast<int64_t>(images.nbytes());
    }
    for (const auto& [name, tensor] : fullBatch_.tensors()) total += static_cast<int64_t>(tensor.nbytes());
    return total;
  }

  std::vector<std::pair<std::string, double>> taskMetrics(const TensorList& x, const TensorList&) override {
    torch::NoGradGuard noGrad;
    const int64_t n = options_.evaluationEpisodes;
    torch::Tensor accuracies = torch::empty({n}, torch::kFloat64);
    for (int64_t i = 0; i < n; ++i) {
      const Batch episode = episodeBatch(test_, kTest, seed(), i, 1, shape_, tensorOptions_);
      accuracies[i] = adaptedAccuracy(x, episode);
    }
    const double std = n > 1 ? accuracies.std().item<double>() : 0.0;
    return {{"testAccuracy", accuracies.mean().item<double>()},
            {"testConfidence95", 1.96 * std / std::sqrt(static_cast<double>(n))},
            {"testEpisodes", static_cast<double>(n)}};
  }

 private:
  // What one unroll derived from x: the features [B, n, D] of each set of images it was asked for.
  struct FeatureCache {
    uint64_t unroll = 0;
    TensorList x;  // held, so that their addresses cannot be reused while they identify the cache
    std::vector<int64_t> versions;
    bool history = false;
    std::vector<std::pair<torch::Tensor, torch::Tensor>> sets;  // (images, features)
  };

  uint64_t seed() const { return static_cast<uint64_t>(options_.seed); }

  // The backbone on each task's images separately: batch norm takes each set's own statistics.
  torch::Tensor embed(const TensorList& x, const torch::Tensor& images) const {
    std::vector<torch::Tensor> perTask;
    for (int64_t j = 0; j < images.size(0); ++j) perTask.push_back(backbone_->forward(x, images[j]));
    return torch::stack(perTask);
  }

  // The features of a set of images [B, n, C, S, S] at x: within one unroll (core/unroll_scope.h)
  // computed once for the same x tensors (same version) and images, with history whenever this call
  // could differentiate through them; outside any unroll, computed afresh.
  torch::Tensor features(const TensorList& x, const torch::Tensor& images) {
    const bool history = torch::GradMode::is_enabled() && std::any_of(x.begin(), x.end(), [](const torch::Tensor& t) {
                           return t.requires_grad();
                         });
    const uint64_t unroll = UnrollScope::current();
    std::lock_guard<std::mutex> lock(cacheMutex_);
    const bool sameUnroll = unroll != 0 && unroll == cache_.unroll && sameTensors(x, cache_.x, cache_.versions) &&
                            (cache_.history || !history);
    if (sameUnroll) {
      for (const auto& [set, computed] : cache_.sets) {
        if (set.unsafeGetTensorImpl() == images.unsafeGetTensorImpl()) return computed;
      }
    } else {
      // A new unroll (or none): what the last one derived is let go.
      cache_ = FeatureCache{unroll, unroll == 0 ? TensorList{} : x, {}, history, {}};
      for (const torch::Tensor& t : cache_.x) cache_.versions.push_back(t._version());
    }
    torch::Tensor computed = embed(x, images);
    if (unroll != 0) cache_.sets.emplace_back(images, computed);
    return computed;
  }

  // Sum over tasks of the mean cross-entropy of heads y = {W [B, N, D], b [B, N]} on features.
  static torch::Tensor headLoss(const torch::Tensor& features, const TensorList& y, const torch::Tensor& labels) {
    const torch::Tensor logits = torch::baddbmm(y[1].unsqueeze(1), features, y[0].transpose(1, 2));
    return F::cross_entropy(logits.flatten(0, 1), labels.flatten()) * static_cast<double>(features.size(0));
  }

  // A test episode's query accuracy after adaptSteps gd steps on a zero head over its support
  // features (the backbone fixed at x): the cross-entropy's gradient in closed form.
  double adaptedAccuracy(const TensorList& x, const Batch& episode) const {
    const torch::Tensor support = embed(x, episode.at("supportImages"))[0], query = embed(x, episode.at("queryImages"))[0];
    const torch::Tensor onehot = F::one_hot(episode.at("supportLabels")[0], options_.ways).to(support.dtype());
    torch::Tensor W = torch::zeros({options_.ways, support.size(1)}, support.options());
    torch::Tensor b = torch::zeros({options_.ways}, support.options());
    const double scale = options_.adaptLr / static_cast<double>(support.size(0));
    for (int64_t k = 0; k < options_.adaptSteps; ++k) {
      const torch::Tensor residual = torch::softmax(torch::addmm(b, support, W.t()), 1) - onehot;
      W -= scale * residual.t().mm(support);
      b -= scale * residual.sum(0);
    }
    const torch::Tensor predicted = torch::addmm(b, query, W.t()).argmax(1);
    return predicted.eq(episode.at("queryLabels")[0]).to(torch::kFloat64).mean().item<double>();
  }

  std::shared_ptr<const models::Model> backbone_;
  std::shared_ptr<const ClassImages> train_;
  ClassImages test_;
  EpisodeShape shape_;
  FewShotOptions options_;
  torch::TensorOptions tensorOptions_;
  Batch fullBatch_;  // F and f without a sampler: training episodes 0 .. metaBatch - 1

  std::mutex cacheMutex_;  // two solvers may run on one problem at once
  FeatureCache cache_;
};

EpisodicSplits readBenchmark(const FewShotOptions& o) {
  const auto [trainSource, testSource] = readIdxFolder(o.root);
  return pairComposites(trainSource, testSource, o.imagesPerClass, static_cast<uint64_t>(o.seed));
}

}  // namespace

const OptionFields<FewShotOptions>& fewShotFields() {
  using O = FewShotOptions;
  static const OptionFields<O> fields = {
      {"dataset", &O::dataset, std::nullopt, {}, {"double-mnist", "double-fashion-mnist"}},
      {"root", &O::root, std::nullopt, {}},
      {"imagesPerClass", &O::imagesPerClass, 200, between(2, kMaxSamples)},
      {"imageSize", &O::imageSize, 28, between(16, 512)},
      {"ways", &O::ways, 5, between(2, 1000)},
      {"shots", &O::shots, 1, between(1, 1000)},
      {"queries", &O::queries, 15, between(1, 1000)},
      {"metaBatch", &O::metaBatch, 4, between(1, 1000)},
      {"channels", &O::channels, 32, between(1, 1024)},
      {"evaluationEpisodes", &O::evaluationEpisodes, 600, between(1, kMaxSamples)},
      {"adaptSteps", &O::adaptSteps, 10, between(0, kMaxLowerSteps)},
      {"adaptLr", &O::adaptLr, 0.1, positive()},
      {"seed", &O::seed, 0, between(0, kMaxSeed)},
  };
  return fields;
}

std::shared_ptr<Problem> makeFewShotProblem(const FewShotOptions& o) {
  checkDeclared(fewShotFields(), o, "fewShot");
  EpisodicSplits splits = readBenchmark(o);
  auto train = std::make_shared<const ClassImages>(resized(std::move(splits.train), o.imageSize));
  ClassImages test = resized(std::move(splits.test), o.imageSize);
  const EpisodeShape shape{o.ways, o.shots, o.queries};
  checkEpisodeShape(*train, kTrain, shape);
  checkEpisodeShape(test, kTest, shape);
  const int64_t inChannels = train->images.front().size(1);
  auto backbone = models::convNet4(inChannels, o.channels, o.imageSize, 0);
  const auto options = torch::TensorOptions().dtype(o.dtype).device(o.device);
  at::Generator init = generatorStream(static_cast<uint64_t>(o.seed), "init");
  Variables upper{backbone->initialize(init, options), {}};
  const int64_t features = models::convNet4Features(o.channels, o.imageSize);
  Variables lower{{torch::zeros({o.metaBatch, o.ways, features}, options), torch::zeros({o.metaBatch, o.ways}, options)}, {}};
  return std::make_shared<FewShotProblem>(std::move(upper), std::move(lower), std::move(backbone), std::move(train),
                                          std::move(test), o);
}

}  // namespace bilevel::core

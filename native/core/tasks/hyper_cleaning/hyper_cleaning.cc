#include "core/tasks/hyper_cleaning/hyper_cleaning.h"

#include <ATen/CPUGeneratorImpl.h>


#include "core/data/generator_stream.h"
#include "core/data/labeled_splits.h"
#include "core/data/row_sampler.h"
#include "core/error.h"
#include "core/linear_cross_entropy.h"
#include "core/models/dense.h"

namespace bilevel::core {
namespace {

namespace F = torch::nn::functional;
constexpr int64_t kClasses = 10;  // of every dataset the task reads

struct Split {
  torch::Tensor features;  // [N, D], pixels / 255
  torch::Tensor labels;    // [N], int64 (training: after the corruption)
};

Split take(const LabeledImages& data, const torch::Tensor& rows, const HyperCleaningOptions& o) {
  const auto options = torch::TensorOptions().dtype(o.dtype).device(o.device);
  return {data.images.index_select(0, rows).reshape({rows.size(0), -1}).to(options) / 255.0,
          data.labels.index_select(0, rows).to(o.device)};
}

class HyperCleaningProblem : public Problem {
 public:
  HyperCleaningProblem(Variables upper, Variables lower, Split train, torch::Tensor trueLabels, torch::Tensor clean,
                       Split validation, Split test, std::shared_ptr<const models::Model> model, bool linear, int64_t batchSize,
                       int64_t seed)
      : Problem(std::move(upper), std::move(lower)),
        batchSize_(batchSize),
        seed_(static_cast<uint64_t>(seed)),
        train_(std::move(train)),
        trueLabels_(std::move(trueLabels)),
        clean_(std::move(clean)),
        validation_(std::move(validation)),
        test_(std::move(test)),
        model_(std::move(model)),
        linear_(linear) {}

  std::vector<std::pair<std::string, torch::Tensor>> data() const override {
    return {{"trainFeatures", train_.features},     {"trainLabels", train_.labels},
            {"trainTrueLabels", trueLabels_},        {"trainClean", clean_},
            {"validationFeatures", validation_.features}, {"validationLabels", validation_.labels},
            {"testFeatures", test_.features},        {"testLabels", test_.labels}};
  }

  std::vector<std::pair<std::string, double>> taskMetrics(const TensorList& x, const TensorList& y) override {
    torch::NoGradGuard noGrad;
    const double accuracy = logits(y, test_.features).argmax(1).eq(test_.labels).to(torch::kFloat64).mean().item<double>();
    const torch::Tensor predictedClean = x[0] >= 0;  // sigmoid(x) >= 0.5
    const double truePositive = (predictedClean & clean_).sum().item<double>();
    const double predicted = predictedClean.sum().item<double>();
    const double actual = clean_.sum().item<double>();
    const double precision = predicted > 0 ? truePositive / predicted : 0.0;
    const double recall = actual > 0 ? truePositive / actual : 0.0;
    const double f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
    return {{"testAccuracy", accuracy},
            {"precision", precision},
            {"recall", recall},
            {"f1", f1},
            {"validationLoss", evaluateUpper(x, y, Batch()).item<double>()}};
  }

  // grad_y f of the linear model by the fused kernel (float32 on the CPU), else by autograd.
  TensorList lowerGradient(const TensorList& x, const TensorList& y, const Batch& batch, bool createGraph) override {
    if (!fused(train_.features)) return Problem::lowerGradient(x, y, batch, createGraph);
    // Without createGraph no graph is recorded, so the result is history-free as the contract asks.
    torch::AutoGradMode mode(createGraph);
    const Rows rows = trainingRows(x[0], batch);
    return linearCrossEntropyGradient(rows.features, rows.labels, torch::sigmoid(rows.weightLogits), y[0], y[1]);
  }

  // Mini-batches: batchSize training rows per LL step, from the task's "sampling" stream.
  std::unique_ptr<Sampler> sampler() const override {
    if (batchSize_ == 0) return nullptr;
    return std::make_unique<RowSampler>(train_.labels.size(0), batchSize_, generatorStream(seed_, "sampling"), train_.labels.device());
  }

 protected:
  // F: the mean cross-entropy on the validation split.
  torch::Tensor evaluateUpper(const TensorList&, const TensorList& y, const Batch&) override {
    return meanLoss(y, validation_.features, validation_.labels, torch::Tensor());
  }
  // f: the mean over the batch's training rows (all with an empty batch) of sigmoid(x_i) * CE_i.
  torch::Tensor evaluateLower(const TensorList& x, const TensorList& y, const Batch& batch) override {
    const Rows rows = trainingRows(x[0], batch);
    return meanLoss(y, rows.features, rows.labels, torch::sigmoid(rows.weightLogits));
  }

 private:
  struct Rows {
    torch::Tensor weightLogits;  // x's entries for the rows: the sample weights are their sigmoids
    torch::Tensor features;
    torch::Tensor labels;
  };
  // The training rows f is evaluated on: the batch's "rows", or all of them.
  Rows trainingRows(const torch::Tensor& x, const Batch& batch) const {
    if (batch.empty()) return {x, train_.features, train_.labels};
    const torch::Tensor& rows = batch.at("rows");
    return {x.index_select(0, rows), train_.features.index_select(0, rows), train_.labels.index_select(0, rows)};
  }

  // Whether the linear model's fused kernels serve these features (float32 on the CPU).
  bool fused(const torch::Tensor& features) const {
    return linear_ && fusedLinearCrossEntropyApplies(features, kClasses);
  }

  // The mean over rows of weights_i CE_i for the model y (weights undefined: all 1).
  torch::Tensor meanLoss(const TensorList& y, const torch::Tensor& features, const torch::Tensor& labels,
                         const torch::Tensor& weights) const {
    if (fused(features)) {
      return linearCrossEntropy(features, labels, weights.defined() ? weights : torch::ones({features.size(0)}, features.options()),
                                y[0], y[1]);
    }
    const auto losses = F::cross_entropy(logits(y, features), labels, F::CrossEntropyFuncOptions().reduction(torch::kNone));
    return weights.defined() ? (weights * losses).mean() : losses.mean();
  }

  torch::Tensor logits(const TensorList& y, const torch::Tensor& features) const { return model_->forward(y, features); }

  int64_t batchSize_;
  uint64_t seed_;  // the task's seed: its sampling stream
  Split train_;
  torch::Tensor trueLabels_;  // the training labels before the corruption
  torch::Tensor clean_;       // bool [trainSize]: the label was left as it was
  Split validation_;
  Split test_;
  std::shared_ptr<const models::Model> model_;  // y's layout and forward
  bool linear_;                                 // the linear model, which the fused kernels serve
};

}  // namespace

const OptionFields<HyperCleaningOptions>& hyperCleaningFields() {
  using O = HyperCleaningOptions;
  static const OptionFields<O> fields = {
      {"dataset", &O::dataset, std::nullopt, {}, {"fashion-mnist", "mnist", "cifar10"}},
      {"root", &O::root, std::nullopt, {}},
      {"model", &O::model, std::nullopt, {}, {"linear", "mlp"}},
      {"hidden", &O::hidden, 300, between(1, kMaxHidden)},
      {"trainSize", &O::trainSize, 5000, between(1, kMaxSamples)},
      {"validationSize", &O::validationSize, 5000, between(1, kMaxSamples)},
      {"testSize", &O::testSize, 10000, between(1, kMaxSamples)},
      {"corruption", &O::corruption, 0.5, between(0, 1)},
      {"batchSize", &O::batchSize, 0, between(0, kMaxSamples)},
      {"seed", &O::seed, 0, between(0, kMaxSeed)},
  };
  return fields;
}

std::shared_ptr<Problem> makeHyperCleaningProblem(const HyperCleaningOptions& o) {
  checkDeclared(hyperCleaningFields(), o, "hyperCleaning");
  auto [trainSet, testSet] = readLabeledDataset(o.dataset, o.root);
  at::Generator gen = at::detail::createCPUGenerator(static_cast<uint64_t>(o.seed));
  const SplitRows rows =
      splitRows({o.trainSize, o.validationSize, o.testSize}, trainSet.labels.size(0), testSet.labels.size(0), gen);
  Split train = take(trainSet, rows.train, o);
  Split validation = take(trainSet, rows.validation, o);
  Split test = take(testSet, rows.test, o);
  // Corrupt a seeded share of the training labels, each to a different class than its own.
  const int64_t corrupted = static_cast<int64_t>(std::llround(o.corruption * static_cast<double>(o.trainSize)));
  const torch::Tensor victims = torch::randperm(o.trainSize, gen, torch::kInt64).slice(0, 0, corrupted).to(o.device);
  const torch::Tensor shift = torch::randint(1, kClasses, {corrupted}, gen, torch::kInt64).to(o.device);
  torch::Tensor clean = torch::ones({o.trainSize}, torch::TensorOptions().dtype(torch::kBool).device(o.device));
  clean.index_fill_(0, victims, false);
  const torch::Tensor trueLabels = train.labels.clone();
  train.labels.index_put_({victims}, (train.labels.index_select(0, victims) + shift).remainder(kClasses));
  const auto options = torch::TensorOptions().dtype(o.dtype).device(o.device);
  const int64_t inputs = train.features.size(1);
  // The linear model starts at zero (a convex LL); the MLP's layers as torch.nn.Linear's, drawn
  // first layer to last from the split's generator after the split.
  const bool linear = o.model == "linear";
  auto model = linear ? models::linear(inputs, kClasses, models::Init::Zeros)
                      : models::mlp({inputs, o.hidden, kClasses}, models::Activation::relu(), models::Init::LinearDefault);
  Variables upper{{torch::zeros({o.trainSize}, options)}, {}};
  Variables lower{model->initialize(gen, options), {}};
  return std::make_shared<HyperCleaningProblem>(std::move(upper), std::move(lower), std::move(train), trueLabels, std::move(clean),
                                                std::move(validation), std::move(test), std::move(model), linear,
                                                o.batchSize, o.seed);
}

}  // namespace bilevel::core

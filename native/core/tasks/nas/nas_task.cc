#include "core/tasks/nas/nas_task.h"

#include <ATen/CPUGeneratorImpl.h>

#include "core/data/generator_stream.h"
#include "core/data/row_sampler.h"
#include "core/error.h"
#include "core/models/darts/genotype.h"
#include "core/models/darts/search_network.h"
#include "core/tasks/nas/image_split.h"

namespace bilevel::core {
namespace {

namespace F = torch::nn::functional;
namespace darts = models::darts;
constexpr int64_t kEvaluationBatch = 256;  // images per forward in metrics()

using Split = ImageSplit;

class NasProblem : public Problem {
 public:
  NasProblem(Variables upper, Variables lower, Split train, Split validation, Split test,
             std::shared_ptr<const darts::SearchNetwork> network, int64_t batchSize, int64_t metricsSize, int64_t seed)
      : Problem(std::move(upper), std::move(lower)),
        train_(std::move(train)),
        validation_(std::move(validation)),
        test_(std::move(test)),
        scored_{headOf(train_, metricsSize), headOf(validation_, metricsSize), test_},
        network_(std::move(network)),
        batchSize_(batchSize),
        seed_(static_cast<uint64_t>(seed)) {}

  std::vector<std::pair<std::string, torch::Tensor>> data() const override {
    return {{"trainImages", train_.images}, {"trainLabels", train_.labels}, {"validationImages", validation_.images},
            {"validationLabels", validation_.labels}, {"testImages", test_.images}, {"testLabels", test_.labels}};
  }

  // The search network's accuracy and mean cross-entropy on each scored split (batch norms on each
  // batch's statistics, as in the search), and what the architecture weights say: the derived
  // normal cell's skip connections (DARTS's collapse shows as their count growing) and the mean
  // entropy of each edge's softmax. One host sync for the six scores.
  std::vector<std::pair<std::string, double>> taskMetrics(const TensorList& x, const TensorList& y) override {
    torch::NoGradGuard noGrad;
    const TensorList params = concat(y, x);
    const ImageClassifier classify = [&](const torch::Tensor& images) { return network_->forward(params, images); };
    std::vector<torch::Tensor> scores;
    for (const Split* split : {&scored_[0], &scored_[1], &scored_[2]}) {
      const std::vector<torch::Tensor> scored = splitScores(*split, kEvaluationBatch, classify);
      scores.insert(scores.end(), scored.begin(), scored.end());
    }
    const torch::Tensor host = torch::stack(scores).cpu();
    const auto& o = network_->options();
    const darts::Genotype genotype = darts::deriveGenotype(x[0], x[1], o.nodes, o.multiplier);
    double skips = 0;
    for (const auto& edge : genotype.normal.edges) skips += edge.operation == darts::Operation::SkipConnect ? 1 : 0;
    return {{"trainAccuracy", host[0].item<double>()},
            {"trainLoss", host[1].item<double>()},
            {"validationAccuracy", host[2].item<double>()},
            {"validationLoss", host[3].item<double>()},
            {"testAccuracy", host[4].item<double>()},
            {"testLoss", host[5].item<double>()},
            {"normalSkipConnections", skips},
            {"normalAlphaEntropy", meanEntropy(x[0])},
            {"reduceAlphaEntropy", meanEntropy(x[1])}};
  }

  std::unique_ptr<Sampler> sampler() const override {
    return std::make_unique<RowSampler>(train_.labels.size(0), batchSize_, generatorStream(seed_, "sampling"), train_.labels.device(),
                                        validation_.labels.size(0));
  }

 protected:
  // F: the mean cross-entropy on the UL iteration's validation rows.
  torch::Tensor evaluateUpper(const TensorList& x, const TensorList& y, const Batch& batch) override {
    return meanLoss(x, y, validation_, batch);
  }
  // f: the mean cross-entropy on the LL step's training rows.
  torch::Tensor evaluateLower(const TensorList& x, const TensorList& y, const Batch& batch) override {
    return meanLoss(x, y, train_, batch);
  }

 private:
  // On the batch's rows of the split; an empty batch (no sampler drew it) means the whole split,
  // in forwards of batchSize rows.
  torch::Tensor meanLoss(const TensorList& x, const TensorList& y, const Split& split, const Batch& batch) const {
    const TensorList params = concat(y, x);
    if (batch.empty()) return splitCrossEntropy(split, batchSize_, [&](const torch::Tensor& images) { return network_->forward(params, images); });
    const torch::Tensor& rows = batch.at("rows");
    return F::cross_entropy(network_->forward(params, split.images.index_select(0, rows)), split.labels.index_select(0, rows));
  }

  static double meanEntropy(const torch::Tensor& alpha) {
    const torch::Tensor p = torch::softmax(alpha, 1);
    return (-(p * torch::log_softmax(alpha, 1)).sum(1)).mean().item<double>();
  }

  Split train_;
  Split validation_;
  Split test_;
  Split scored_[3];  // what the metrics score: the first metricsSize rows of each half, the test split
  std::shared_ptr<const darts::SearchNetwork> network_;
  int64_t batchSize_;
  uint64_t seed_;  // the task's seed: its sampling stream
};

}  // namespace

const OptionFields<NasOptions>& nasFields() {
  using O = NasOptions;
  static const OptionFields<O> fields = {
      {"dataset", &O::dataset, std::nullopt, {}, {"fashion-mnist", "cifar10", "folders"}},
      {"root", &O::root, std::nullopt, {}},
      {"channels", &O::channels, 16, between(1, 1024)},
      {"cells", &O::cells, 8, between(1, 64)},
      {"nodes", &O::nodes, 4, between(1, 16)},
      {"trainSize", &O::trainSize, 25000, between(1, kMaxSamples)},
      {"validationSize", &O::validationSize, 25000, between(1, kMaxSamples)},
      {"testSize", &O::testSize, 10000, between(1, kMaxSamples)},
      {"metricsSize", &O::metricsSize, 10000, between(1, kMaxSamples)},
      {"batchSize", &O::batchSize, 64, between(1, kMaxSamples)},
      {"seed", &O::seed, 0, between(0, kMaxSeed)},
  };
  return fields;
}

std::shared_ptr<Problem> makeNasProblem(const NasOptions& o) {
  checkDeclared(nasFields(), o, "nas");
  at::Generator gen = at::detail::createCPUGenerator(static_cast<uint64_t>(o.seed));
  ImageSplits data = loadImageSplits(o.dataset, o.root, {o.trainSize, o.validationSize, o.testSize}, gen, o.dtype, o.device);
  darts::SearchNetworkOptions shape;
  shape.inChannels = data.train.images.size(1);
  shape.imageSize = kNasImageSize;
  shape.classes = data.classes;
  shape.channels = o.channels;
  shape.cells = o.cells;
  shape.nodes = o.nodes;
  shape.multiplier = o.nodes;
  auto network = darts::searchNetwork(shape);
  // The weights as the layout draws them; the alphas 1e-3 * N(0, 1), as DARTS starts them.
  const auto options = torch::TensorOptions().dtype(o.dtype).device(o.device);
  TensorList parameters = network->initialize(gen, options);
  const auto weights = static_cast<std::ptrdiff_t>(network->weightCount());
  TensorList alphas;
  for (auto it = parameters.begin() + weights; it != parameters.end(); ++it) {
    alphas.push_back((1e-3 * torch::randn(it->sizes(), gen, torch::TensorOptions().dtype(o.dtype))).to(o.device));
  }
  Variables upper{alphas, {}};
  Variables lower{TensorList(parameters.begin(), parameters.begin() + weights), {}};
  return std::make_shared<NasProblem>(std::move(upper), std::move(lower), std::move(data.train), std::move(data.validation), std::move(data.test),
                                      std::move(network), o.batchSize, o.metricsSize, o.seed);
}

}  // namespace bilevel::core

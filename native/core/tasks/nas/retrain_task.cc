#include "core/tasks/nas/retrain_task.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <limits>

#include "core/data/generator_stream.h"
#include "core/error.h"
#include "core/models/batch_norm_statistics.h"
#include "core/models/darts/evaluation_network.h"
#include "core/models/darts/genotype_text.h"
#include "core/tasks/nas/augmentation.h"
#include "core/tasks/nas/image_split.h"

namespace bilevel::core {
namespace {

namespace F = torch::nn::functional;
namespace darts = models::darts;
constexpr int64_t kEvaluationBatch = 256;  // images per forward in metrics()

// Draws each LL step's training rows, a seed for its augmentation and drop-path masks, and drop
// path's probability at that point of training (dropPath * epoch / epochs, the epoch counted in
// steps of batchSize rows, as DARTS's train.py sets it per epoch); F's test rows per iteration.
// Its state: the stream and the steps drawn so far.
class RetrainSampler : public Sampler {
 public:
  RetrainSampler(const NasRetrainOptions& o, int64_t trainRows, int64_t testRows)
      : generator_(generatorStream(static_cast<uint64_t>(o.seed), "sampling")),
        trainRows_(trainRows),
        testRows_(testRows),
        batchSize_(o.batchSize),
        stepsPerEpoch_((trainRows + o.batchSize - 1) / o.batchSize),
        epochs_(o.epochs),
        dropPath_(o.dropPath),
        device_(o.device) {}

  IterationBatches next(int64_t lowerSteps) override {
    const torch::Tensor rows = torch::randint(trainRows_, {lowerSteps, batchSize_}, generator_, torch::kInt64).to(device_);
    const torch::Tensor seeds = torch::randint(int64_t{1} << 62, {lowerSteps}, generator_, torch::kInt64);
    IterationBatches batches;
    for (int64_t k = 0; k < lowerSteps; ++k, ++steps_) {
      const double epoch = static_cast<double>(std::min(steps_ / stepsPerEpoch_, epochs_));
      batches.lower.emplace_back(Batch({{"rows", rows[k]},
                                        {"seed", seeds[k]},
                                        {"dropPath", torch::scalar_tensor(dropPath_ * epoch / static_cast<double>(epochs_), torch::kFloat64)}}));
    }
    batches.upper = Batch({{"rows", torch::randint(testRows_, {batchSize_}, generator_, torch::kInt64).to(device_)}});
    return batches;
  }

  void save(StateWriter& writer, const std::string& prefix) const override {
    saveGenerator(writer, prefix + "generator", generator_);
    writer.integer(prefix + "steps", steps_);
  }

  Commit load(StateReader& reader, const std::string& prefix) override {
    Commit generator = loadGenerator(reader, prefix + "generator", generator_);
    const int64_t steps = reader.integer(prefix + "steps", 0, std::numeric_limits<int64_t>::max());
    return [this, generator, steps] {
      generator();
      steps_ = steps;
    };
  }

 private:
  at::Generator generator_;
  int64_t trainRows_, testRows_, batchSize_, stepsPerEpoch_, epochs_;
  double dropPath_;
  torch::Device device_;
  int64_t steps_ = 0;
};

class NasRetrainProblem : public Problem {
 public:
  NasRetrainProblem(Variables lower, ImageSplit train, ImageSplit validation, ImageSplit test,
                    std::shared_ptr<const darts::EvaluationNetwork> network, const NasRetrainOptions& options)
      : Problem(Variables{}, std::move(lower)),
        train_(std::move(train)),
        validation_(std::move(validation)),
        test_(std::move(test)),
        network_(std::move(network)),
        options_(options) {}

  std::vector<std::pair<std::string, torch::Tensor>> data() const override {
    return {{"trainImages", train_.images}, {"trainLabels", train_.labels}, {"validationImages", validation_.images},
            {"validationLabels", validation_.labels}, {"testImages", test_.images}, {"testLabels", test_.labels}};
  }

  // Test (and validation) accuracy and mean cross-entropy with the batch norms at population
  // statistics: the exact average over the first statisticsSize training images (in forwards of
  // 256, unaugmented) rather than DARTS's running averages, which would be state outside y that a
  // checkpoint does not hold. The evaluation network's size without the auxiliary head.
  std::vector<std::pair<std::string, double>> taskMetrics(const TensorList&, const TensorList& y) override {
    torch::NoGradGuard noGrad;
    models::BatchNormStatistics statistics;
    const ImageSplit reference = headOf(train_, options_.statisticsSize);
    for (int64_t from = 0, chunk = 0; from < reference.labels.size(0); from += kEvaluationBatch, ++chunk) {
      statistics.momentum = 1.0 / static_cast<double>(chunk + 1);  // the mean of the chunks' statistics
      models::BatchNormScope track(statistics, models::BatchNormMode::Track);
      network_->forward(y, reference.images.slice(0, from, from + kEvaluationBatch));
    }
    std::vector<std::string> names = {"testAccuracy", "testLoss"};
    const ImageClassifier classify = [&](const torch::Tensor& images) {
      models::BatchNormScope running(statistics, models::BatchNormMode::Running);
      return network_->forward(y, images);
    };
    std::vector<torch::Tensor> scores = splitScores(test_, kEvaluationBatch, classify);
    if (validation_.labels.size(0) > 0) {
      names.insert(names.end(), {"validationAccuracy", "validationLoss"});
      const std::vector<torch::Tensor> held = splitScores(validation_, kEvaluationBatch, classify);
      scores.insert(scores.end(), held.begin(), held.end());
    }
    const torch::Tensor host = torch::stack(scores).cpu();  // one sync
    std::vector<std::pair<std::string, double>> out;
    for (size_t i = 0; i < names.size(); ++i) out.emplace_back(names[i], host[static_cast<int64_t>(i)].item<double>());
    out.emplace_back("parameters", static_cast<double>(network_->parameterCountWithoutAuxiliary()));
    return out;
  }

  std::unique_ptr<Sampler> sampler() const override {
    return std::make_unique<RetrainSampler>(options_, train_.labels.size(0), test_.labels.size(0));
  }

 protected:
  // F: the test mini-batch's mean cross-entropy (batch norms on its own statistics); without a
  // batch, the whole test split's in forwards of batchSize.
  torch::Tensor evaluateUpper(const TensorList&, const TensorList& y, const Batch& batch) override {
    if (batch.empty()) return splitCrossEntropy(test_, options_.batchSize, [&](const torch::Tensor& images) { return network_->forward(y, images); });
    const torch::Tensor& rows = batch.at("rows");
    return F::cross_entropy(network_->forward(y, test_.images.index_select(0, rows)), test_.labels.index_select(0, rows));
  }

  // f: the training mini-batch augmented and forwarded with drop path, its cross-entropy plus
  // auxiliaryWeight times the auxiliary head's, every draw from the batch's seed. Without a batch,
  // the whole training split's plain cross-entropy.
  torch::Tensor evaluateLower(const TensorList&, const TensorList& y, const Batch& batch) override {
    if (batch.empty()) return splitCrossEntropy(train_, options_.batchSize, [&](const torch::Tensor& images) { return network_->forward(y, images); });
    const torch::Tensor& rows = batch.at("rows");
    at::Generator generator = at::detail::createCPUGenerator(static_cast<uint64_t>(batch.at("seed").item<int64_t>()));
    const Augmentation augmentation{options_.cropPadding, options_.flip, options_.cutout};
    const torch::Tensor images = augmented(train_.images.index_select(0, rows), augmentation, generator, batch.rowShare());
    const darts::DropPath dropPath{batch.at("dropPath").item<double>(), &generator, batch.rowShare()};
    const auto out = network_->forwardTraining(y, images, dropPath);
    const torch::Tensor labels = train_.labels.index_select(0, rows);
    torch::Tensor loss = F::cross_entropy(out.logits, labels);
    if (out.auxiliaryLogits.defined()) loss = loss + options_.auxiliaryWeight * F::cross_entropy(out.auxiliaryLogits, labels);
    return loss;
  }

 private:
  ImageSplit train_;
  ImageSplit validation_;  // empty without validationSize
  ImageSplit test_;
  std::shared_ptr<const darts::EvaluationNetwork> network_;
  NasRetrainOptions options_;
};

}  // namespace

const OptionFields<NasRetrainOptions>& nasRetrainFields() {
  using O = NasRetrainOptions;
  static const OptionFields<O> fields = {
      {"dataset", &O::dataset, std::nullopt, {}, {"fashion-mnist", "cifar10", "folders"}},
      {"root", &O::root, std::nullopt, {}},
      {"genotype", &O::genotype, std::nullopt, {}},
      {"channels", &O::channels, 36, between(1, 1024)},
      {"cells", &O::cells, 20, between(1, 64)},
      {"trainSize", &O::trainSize, 50000, between(1, kMaxSamples)},
      {"validationSize", &O::validationSize, 0, between(0, kMaxSamples)},
      {"testSize", &O::testSize, 10000, between(1, kMaxSamples)},
      {"batchSize", &O::batchSize, 96, between(1, kMaxSamples)},
      {"epochs", &O::epochs, 600, between(1, kMaxUpperIterations)},
      {"dropPath", &O::dropPath, 0.2, unitInterval()},
      {"auxiliaryWeight", &O::auxiliaryWeight, 0.4, nonNegative()},
      {"cutout", &O::cutout, 16, between(0, 32)},
      {"cropPadding", &O::cropPadding, 4, between(0, 16)},
      {"flip", &O::flip, true, {}},
      {"statisticsSize", &O::statisticsSize, 10000, between(1, kMaxSamples)},
      {"seed", &O::seed, 0, between(0, kMaxSeed)},
  };
  return fields;
}

std::shared_ptr<Problem> makeNasRetrainProblem(const NasRetrainOptions& o) {
  checkDeclared(nasRetrainFields(), o, "nasRetrain");
  const darts::Genotype genotype = darts::parseGenotype(o.genotype, "nasRetrain.genotype");
  if (o.statisticsSize > o.trainSize) {
    throw Error("INVALID_ARGUMENT", "nasRetrain.statisticsSize must be <= trainSize = " + std::to_string(o.trainSize));
  }
  at::Generator gen = at::detail::createCPUGenerator(static_cast<uint64_t>(o.seed));
  ImageSplits data = loadImageSplits(o.dataset, o.root, {o.trainSize, o.validationSize, o.testSize}, gen, o.dtype, o.device);
  darts::EvaluationNetworkOptions shape;
  shape.inChannels = data.train.images.size(1);
  shape.imageSize = kNasImageSize;
  shape.classes = data.classes;
  shape.channels = o.channels;
  shape.cells = o.cells;
  shape.auxiliary = o.auxiliaryWeight > 0;
  auto network = darts::evaluationNetwork(genotype, shape);
  Variables lower{network->initialize(gen, torch::TensorOptions().dtype(o.dtype).device(o.device)), {}};
  return std::make_shared<NasRetrainProblem>(std::move(lower), std::move(data.train), std::move(data.validation), std::move(data.test),
                                             std::move(network), o);
}

}  // namespace bilevel::core

#include "core/tasks/gan/gan_task.h"

#include "core/data/generator_stream.h"
#include "core/models/dense.h"
#include "core/tasks/gan/metrics.h"
#include "core/tasks/gan/mixture.h"

namespace bilevel::core {
namespace {

namespace F = torch::nn::functional;

// Per UL iteration: noise for F; per LL step: a real batch and noise for f.
class GanSampler : public StreamSampler {
 public:
  GanSampler(gan::Mixture mixture, const GanOptions& o)
      : StreamSampler(generatorStream(static_cast<uint64_t>(o.seed), "sampling")),
        mixture_(std::move(mixture)),
        batchSize_(o.batchSize),
        noiseSize_(o.noiseSize),
        options_(torch::TensorOptions().dtype(o.dtype).device(o.device)) {}

  IterationBatches next(int64_t lowerSteps) override {
    IterationBatches batches;
    batches.upper = Batch({{"noise", noise()}});
    for (int64_t k = 0; k < lowerSteps; ++k) {
      batches.lower.emplace_back(Batch({{"real", gan::sample(mixture_, batchSize_, generator_).to(options_)}, {"noise", noise()}}));
    }
    return batches;
  }

 private:
  // Drawn in float64 on the CPU: one seed, the same noise on every device and dtype.
  torch::Tensor noise() { return torch::randn({batchSize_, noiseSize_}, generator_, torch::kFloat64).to(options_); }

  gan::Mixture mixture_;
  int64_t batchSize_;
  int64_t noiseSize_;
  torch::TensorOptions options_;
};

class GanProblem : public Problem {
 public:
  GanProblem(Variables generatorParameters, Variables discriminatorParameters, std::shared_ptr<const models::Model> generator,
             std::shared_ptr<const models::Model> discriminator, gan::Mixture mixture, torch::Tensor evaluationNoise,
             torch::Tensor evaluationReal, GanOptions options)
      : Problem(std::move(generatorParameters), std::move(discriminatorParameters)),
        generator_(std::move(generator)),
        discriminator_(std::move(discriminator)),
        mixture_(std::move(mixture)),
        evaluationNoise_(std::move(evaluationNoise)),
        evaluationReal_(std::move(evaluationReal)),
        options_(options) {}

  std::unique_ptr<Sampler> sampler() const override { return std::make_unique<GanSampler>(mixture_, options_); }

  std::vector<std::pair<std::string, torch::Tensor>> data() const override {
    return {{"modes", mixture_.centers}, {"evaluationNoise", evaluationNoise_}, {"evaluationReal", evaluationReal_}};
  }

 protected:
  // F = mean -log D(G(v)) = mean softplus(-logit): the non-saturating generator loss.
  torch::Tensor evaluateUpper(const TensorList& x, const TensorList& y, const Batch& batch) override {
    return F::softplus(-discriminator_->forward(y, generated(x, batch))).mean();
  }
  // f = mean -log D(u) + mean -log(1 - D(G(v))): the discriminator's cross-entropy.
  torch::Tensor evaluateLower(const TensorList& x, const TensorList& y, const Batch& batch) override {
    const torch::Tensor& real = batch.empty() ? evaluationReal_ : batch.at("real");
    return F::softplus(-discriminator_->forward(y, real)).mean() + F::softplus(discriminator_->forward(y, generated(x, batch))).mean();
  }

  std::vector<std::pair<std::string, double>> taskMetrics(const TensorList& x, const TensorList&) override {
    torch::NoGradGuard noGrad;
    const gan::GanMetrics m = gan::evaluate(mixture_, generator_->forward(x, evaluationNoise_));
    return {{"modesCovered", m.modesCovered},
            {"highQualityShare", m.highQualityShare},
            {"jensenShannon", m.jensenShannon},
            {"frechetDistance", m.frechetDistance}};
  }

  std::vector<std::pair<std::string, torch::Tensor>> taskViews(const TensorList& x, const TensorList&) override {
    torch::NoGradGuard noGrad;
    return {{"samples", generator_->forward(x, evaluationNoise_).to(torch::kCPU, torch::kFloat64)},
            {"modes", mixture_.centers}};
  }

 private:
  // G(v) for the batch's noise (the fixed evaluation noise when the batch is empty).
  torch::Tensor generated(const TensorList& x, const Batch& batch) const {
    return generator_->forward(x, batch.empty() ? evaluationNoise_ : batch.at("noise"));
  }

  std::shared_ptr<const models::Model> generator_;
  std::shared_ptr<const models::Model> discriminator_;
  gan::Mixture mixture_;
  torch::Tensor evaluationNoise_;
  torch::Tensor evaluationReal_;
  GanOptions options_;
};

}  // namespace

std::shared_ptr<Problem> makeGanProblem(const GanOptions& o) {
  const auto options = torch::TensorOptions().dtype(o.dtype).device(o.device);
  const auto relu = models::Activation::relu();
  auto generator = models::mlp({o.noiseSize, o.hidden, o.hidden, 2}, relu, models::Init::LinearDefault);
  auto discriminator = models::mlp({2, o.hidden, 1}, relu, models::Init::LinearDefault);
  at::Generator init = generatorStream(static_cast<uint64_t>(o.seed), "init");
  Variables x{generator->initialize(init, options), {}};
  Variables y{discriminator->initialize(init, options), {}};
  gan::Mixture mixture = gan::pentagramMixture();
  at::Generator evaluation = generatorStream(static_cast<uint64_t>(o.seed), "evaluation");
  torch::Tensor noise = torch::randn({o.evaluationSamples, o.noiseSize}, evaluation, torch::kFloat64).to(options);
  torch::Tensor real = gan::sample(mixture, o.evaluationSamples, evaluation).to(options);
  return std::make_shared<GanProblem>(std::move(x), std::move(y), std::move(generator), std::move(discriminator), std::move(mixture),
                                      std::move(noise), std::move(real), o);
}

const OptionFields<GanOptions>& ganFields() {
  using O = GanOptions;
  static const OptionFields<O> fields = {
      {"noiseSize", &O::noiseSize, 16, between(1, 4096)},
      {"hidden", &O::hidden, 128, between(1, kMaxHidden)},
      {"batchSize", &O::batchSize, 256, between(1, kMaxSamples)},
      {"evaluationSamples", &O::evaluationSamples, 2500, between(2, kMaxSamples)},
      {"seed", &O::seed, 0, between(0, kMaxSeed)},
  };
  return fields;
}

}  // namespace bilevel::core

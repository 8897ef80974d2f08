#include "core/tasks/few_shot/episodic_problem.h"

#include <cmath>

#include "core/option_reader.h"
#include "core/tasks/few_shot/episode_batches.h"
#include "core/unroll_scope.h"

namespace bilevel::core {
namespace {

namespace F = torch::nn::functional;

constexpr const char* kTrain = "train";
constexpr const char* kTest = "test";

// Sum over tasks of each task's mean cross-entropy (all tasks have as many images).
torch::Tensor summedCrossEntropy(const torch::Tensor& logits, const torch::Tensor& labels) {
  return F::cross_entropy(logits.flatten(0, 1), labels.flatten()) * static_cast<double>(logits.size(0));
}

// The start of one task's y: y's starting values without the meta-batch (zeros in both layouts).
TensorList oneTaskStart(const TensorList& y) {
  TensorList out;
  for (const torch::Tensor& t : y) out.push_back(torch::zeros_like(t.slice(0, 0, 1)).requires_grad_());
  return out;
}

}  // namespace

EpisodicProblem::EpisodicProblem(Variables upper, Variables lower, EpisodicData data, const FewShotOptions& o)
    : Problem(std::move(upper), std::move(lower)),
      data_(std::move(data)),
      options_(o),
      shape_{o.ways, o.shots, o.queries},
      regularizer_{o.regularizer, o.regularizerWeight, o.regularizerQ, o.regularizerEpsilon},
      tensorOptions_(torch::TensorOptions().dtype(o.dtype).device(o.device)),
      fullBatch_(episodeBatch(*data_.train, kTrain, seed(), 0, o.metaBatch, shape_, tensorOptions_)) {}

std::unique_ptr<Sampler> EpisodicProblem::sampler() const {
  return episodeSampler(data_.train, kTrain, shape_, options_.metaBatch, seed(), tensorOptions_);
}

std::vector<std::pair<std::string, torch::Tensor>> EpisodicProblem::data() const {
  const auto scaled = [&](const ClassImages& split) { return torch::cat(split.images).to(tensorOptions_).div(255); };
  return {{"trainImages", scaled(*data_.train)}, {"testImages", scaled(data_.test)},
          {"episodeSupportImages", fullBatch_.at("supportImages")}, {"episodeSupportLabels", fullBatch_.at("supportLabels")},
          {"episodeQueryImages", fullBatch_.at("queryImages")}, {"episodeQueryLabels", fullBatch_.at("queryLabels")}};
}

torch::Tensor EpisodicProblem::evaluateUpper(const TensorList& x, const TensorList& y, const Batch& batch) {
  const Batch& b = batch.empty() ? fullBatch_ : batch;
  return summedCrossEntropy(logits(x, y, b.at("queryImages")), b.at("queryLabels"));
}

torch::Tensor EpisodicProblem::evaluateLower(const TensorList& x, const TensorList& y, const Batch& batch) {
  const Batch& b = batch.empty() ? fullBatch_ : batch;
  const torch::Tensor loss = summedCrossEntropy(logits(x, y, b.at("supportImages")), b.at("supportLabels"));
  if (regularizer_.form == "none") return loss;
  const auto [W, bias] = heads(x, y);
  return loss + headRegularizer(regularizer_, W, bias);
}

int64_t EpisodicProblem::dataBytes() const {
  int64_t total = 0;
  for (const ClassImages* split : {data_.train.get(), &data_.test}) {
    for (const torch::Tensor& images : split->images) total += static_cast<int64_t>(images.nbytes());
  }
  for (const auto& [name, tensor] : fullBatch_.tensors()) total += static_cast<int64_t>(tensor.nbytes());
  return total;
}

std::vector<std::pair<std::string, double>> EpisodicProblem::taskMetrics(const TensorList& x, const TensorList&) {
  return evaluate(x, {options_.evaluationEpisodes, options_.adaptSteps, options_.adaptLr});
}

std::vector<std::pair<std::string, double>> EpisodicProblem::taskMetricsWith(const TensorList& x, const TensorList& y,
                                                                             const OptionSource& settings) {
  if (settings.keys().empty()) return taskMetrics(x, y);
  FewShotEvaluation evaluation{options_.evaluationEpisodes, options_.adaptSteps, options_.adaptLr};
  readDeclared(settings, defaultingTo(fewShotEvaluationFields(), evaluation), evaluation, "metrics");
  return evaluate(x, evaluation);
}

std::vector<std::pair<std::string, double>> EpisodicProblem::evaluate(const TensorList& x, const FewShotEvaluation& evaluation) {
  const int64_t n = evaluation.episodes;
  torch::Tensor accuracies = torch::empty({n}, torch::kFloat64);
  for (int64_t i = 0; i < n; ++i) {
    accuracies[i] = adaptedAccuracy(x, episodeBatch(data_.test, kTest, seed(), i, 1, shape_, tensorOptions_), evaluation);
  }
  const double std = n > 1 ? accuracies.std().item<double>() : 0.0;
  return {{"testAccuracy", accuracies.mean().item<double>()},
          {"testConfidence95", 1.96 * std / std::sqrt(static_cast<double>(n))},
          {"testStd", std},
          {"testEpisodes", static_cast<double>(n)}};
}

// One unroll per episode: the layout may reuse what it derives from x (the heads layout's features)
// across the adaptation steps.
double EpisodicProblem::adaptedAccuracy(const TensorList& x, const Batch& episode, const FewShotEvaluation& evaluation) {
  const UnrollScope unroll;
  torch::AutoGradMode enabled(true);
  TensorList y = oneTaskStart(lowerVariables().initial);
  for (int64_t k = 0; k < evaluation.adaptSteps; ++k) {
    const TensorList gradients = torch::autograd::grad({evaluateLower(x, y, episode)}, y);
    for (size_t i = 0; i < y.size(); ++i) y[i] = (y[i] - evaluation.adaptLr * gradients[i]).detach().requires_grad_();
  }
  torch::NoGradGuard noGrad;
  const torch::Tensor predicted = logits(x, y, episode.at("queryImages")).argmax(2);
  return predicted.eq(episode.at("queryLabels")).to(torch::kFloat64).mean().item<double>();
}

}  // namespace bilevel::core

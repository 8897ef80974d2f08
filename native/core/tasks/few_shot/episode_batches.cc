#include "core/tasks/few_shot/episode_batches.h"

#include <limits>

namespace bilevel::core {

Batch episodeBatch(const ClassImages& split, const std::string& splitName, uint64_t seed, int64_t first, int64_t count,
                   const EpisodeShape& shape, const torch::TensorOptions& options) {
  std::vector<torch::Tensor> support, supportLabels, query, queryLabels;
  for (int64_t i = first; i < first + count; ++i) {
    Episode e = drawEpisode(split, splitName, seed, i, shape);
    support.push_back(std::move(e.supportImages));
    supportLabels.push_back(std::move(e.supportLabels));
    query.push_back(std::move(e.queryImages));
    queryLabels.push_back(std::move(e.queryLabels));
  }
  const auto scaled = [&](const std::vector<torch::Tensor>& images) { return torch::stack(images).to(options).div(255); };
  const auto labels = [&](const std::vector<torch::Tensor>& l) { return torch::stack(l).to(options.device()); };
  return Batch({{"supportImages", scaled(support)}, {"supportLabels", labels(supportLabels)},
                {"queryImages", scaled(query)}, {"queryLabels", labels(queryLabels)}});
}

namespace {

class EpisodeSampler : public Sampler {
 public:
  EpisodeSampler(std::shared_ptr<const ClassImages> train, std::string splitName, EpisodeShape shape, int64_t metaBatch,
                 uint64_t seed, torch::TensorOptions options)
      : train_(std::move(train)), splitName_(std::move(splitName)), shape_(shape), metaBatch_(metaBatch), seed_(seed),
        options_(options) {}

  IterationBatches next(int64_t) override {
    IterationBatches batches;
    batches.upper = episodeBatch(*train_, splitName_, seed_, cursor_, metaBatch_, shape_, options_);
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
  std::string splitName_;
  EpisodeShape shape_;
  int64_t metaBatch_;
  uint64_t seed_;
  torch::TensorOptions options_;
  int64_t cursor_ = 0;
};

}  // namespace

std::unique_ptr<Sampler> episodeSampler(std::shared_ptr<const ClassImages> train, const std::string& splitName,
                                        EpisodeShape shape, int64_t metaBatch, uint64_t seed, torch::TensorOptions options) {
  return std::make_unique<EpisodeSampler>(std::move(train), splitName, shape, metaBatch, seed, options);
}

}  // namespace bilevel::core

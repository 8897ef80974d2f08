#include "core/tasks/few_shot/episodes.h"

#include "core/data/generator_stream.h"
#include "core/error.h"

namespace bilevel::core {

void checkEpisodeShape(const ClassImages& split, const std::string& splitName, const EpisodeShape& shape) {
  if (shape.ways < 1 || shape.shots < 1 || shape.queries < 1) {
    throw Error("INVALID_ARGUMENT", "ways, shots and queries must be >= 1; got " + std::to_string(shape.ways) + ", " +
                                        std::to_string(shape.shots) + ", " + std::to_string(shape.queries));
  }
  if (shape.ways > split.classes()) {
    throw Error("INVALID_ARGUMENT", std::to_string(shape.ways) + " ways, but the " + splitName + " split has " +
                                        std::to_string(split.classes()) + " classes");
  }
  for (int64_t c = 0; c < split.classes(); ++c) {
    const int64_t count = split.images[c].size(0);
    if (count < shape.shots + shape.queries) {
      throw Error("INVALID_ARGUMENT", splitName + " class '" + split.names[c] + "' has " + std::to_string(count) +
                                          " images, fewer than shots + queries = " +
                                          std::to_string(shape.shots + shape.queries));
    }
  }
}

Episode drawEpisode(const ClassImages& split, const std::string& splitName, uint64_t seed, int64_t index,
                    const EpisodeShape& shape) {
  at::Generator generator = generatorStream(seed, "episode/" + splitName + "/" + std::to_string(index));
  const torch::Tensor classes = torch::randperm(split.classes(), generator, torch::kInt64).slice(0, 0, shape.ways);
  std::vector<torch::Tensor> support, query;
  Episode episode;
  for (int64_t label = 0; label < shape.ways; ++label) {
    const int64_t c = classes[label].item<int64_t>();
    const torch::Tensor& images = split.images[c];
    // Distinct images: the first `shots` of a permutation are the support, the next `queries` the query.
    const torch::Tensor order = torch::randperm(images.size(0), generator, torch::kInt64);
    support.push_back(images.index_select(0, order.slice(0, 0, shape.shots)));
    query.push_back(images.index_select(0, order.slice(0, shape.shots, shape.shots + shape.queries)));
    episode.classes.push_back(c);
  }
  const torch::Tensor labels = torch::arange(shape.ways, torch::kInt64);
  episode.supportImages = torch::cat(support);
  episode.queryImages = torch::cat(query);
  episode.supportLabels = labels.repeat_interleave(shape.shots);
  episode.queryLabels = labels.repeat_interleave(shape.queries);
  return episode;
}

}  // namespace bilevel::core

#include "core/tasks/few_shot/pair_composites.h"

#include <string>

#include "core/data/generator_stream.h"
#include "core/error.h"

namespace bilevel::core {
namespace {

constexpr int64_t kItems = 10;
constexpr int64_t kTrainClasses = 64, kValidationClasses = 16;

// The rows of source holding each item, refused when an item has none (a composite needs one).
std::vector<torch::Tensor> rowsPerItem(const LabeledImages& source) {
  if (source.images.dim() != 3) {
    throw Error("SHAPE_MISMATCH", "pair composites need [N, H, W] images; got " + c10::str(source.images.sizes()));
  }
  std::vector<torch::Tensor> rows;
  for (int64_t item = 0; item < kItems; ++item) {
    rows.push_back(torch::nonzero(source.labels == item).flatten());
    if (rows.back().numel() == 0) throw Error("INVALID_ARGUMENT", "pair composites: no image of label " + std::to_string(item));
  }
  return rows;
}

// Uniform picks among rows, from generator.
torch::Tensor pick(const torch::Tensor& rows, int64_t count, at::Generator& generator) {
  return rows.index_select(0, torch::randint(rows.numel(), {count}, generator, torch::kInt64));
}

// The composites of `classes` (indices 0..99: class c is item c / 10 beside item c % 10).
ClassImages compose(const LabeledImages& source, const torch::Tensor& classes, int64_t imagesPerClass, at::Generator generator) {
  const std::vector<torch::Tensor> rows = rowsPerItem(source);
  ClassImages out;
  for (int64_t i = 0; i < classes.numel(); ++i) {
    const int64_t c = classes[i].item<int64_t>();
    const torch::Tensor left = source.images.index_select(0, pick(rows[c / kItems], imagesPerClass, generator));
    const torch::Tensor right = source.images.index_select(0, pick(rows[c % kItems], imagesPerClass, generator));
    out.names.push_back(std::to_string(c / kItems) + std::to_string(c % kItems));
    out.images.push_back(torch::cat({left, right}, 2).unsqueeze(1).contiguous());
  }
  return out;
}

}  // namespace

EpisodicSplits pairComposites(const LabeledImages& trainSource, const LabeledImages& testSource, int64_t imagesPerClass,
                              uint64_t seed) {
  if (imagesPerClass < 1) throw Error("INVALID_ARGUMENT", "imagesPerClass must be >= 1; got " + std::to_string(imagesPerClass));
  at::Generator classOrder = generatorStream(seed, "pair-composites/classes");
  const torch::Tensor order = torch::randperm(kItems * kItems, classOrder, torch::kInt64);
  // Each split draws from a stream of its own: its images do not depend on the other splits' sizes.
  return {compose(trainSource, order.slice(0, 0, kTrainClasses), imagesPerClass, generatorStream(seed, "pair-composites/train")),
          compose(trainSource, order.slice(0, kTrainClasses, kTrainClasses + kValidationClasses), imagesPerClass,
                  generatorStream(seed, "pair-composites/validation")),
          compose(testSource, order.slice(0, kTrainClasses + kValidationClasses), imagesPerClass,
                  generatorStream(seed, "pair-composites/test"))};
}

}  // namespace bilevel::core

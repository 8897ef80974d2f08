#include "core/tasks/few_shot/few_shot_data.h"

#include <functional>

#include "core/data/generator_stream.h"
#include "core/datasets.h"
#include "core/images/class_folders.h"
#include "core/images/image_cache.h"
#include "core/tasks/few_shot/pair_composites.h"

namespace bilevel::core {
namespace {

namespace F = torch::nn::functional;

// Each class's images area-averaged to size x size: the composites and IDX digits keep the
// resampling their recorded results were measured with.
ClassImages areaResized(ClassImages split, int64_t size) {
  for (torch::Tensor& images : split.images) {
    const torch::Tensor area = F::interpolate(images.to(torch::kFloat32),
                                              F::InterpolateFuncOptions().size(std::vector<int64_t>{size, size}).mode(torch::kArea));
    images = area.round().clamp(0, 255).to(torch::kUInt8).contiguous();
  }
  return split;
}

FewShotClasses pairCompositeClasses(const FewShotOptions& o) {
  const auto [trainSource, testSource] = readIdxFolder(o.root);
  EpisodicSplits splits = pairComposites(trainSource, testSource, o.imagesPerClass, static_cast<uint64_t>(o.seed));
  return {areaResized(std::move(splits.train), o.imageSize), areaResized(std::move(splits.test), o.imageSize)};
}

// The images of source with the given labels, one class per label, named by it.
ClassImages labelClasses(const LabeledImages& source, const torch::Tensor& labels) {
  ClassImages out;
  for (int64_t i = 0; i < labels.numel(); ++i) {
    const int64_t label = labels[i].item<int64_t>();
    out.names.push_back(std::to_string(label));
    out.images.push_back(source.images.index_select(0, torch::nonzero(source.labels == label).flatten()).unsqueeze(1).contiguous());
  }
  return out;
}

FewShotClasses idxClasses(const FewShotOptions& o) {
  const auto [trainSource, testSource] = readIdxFolder(o.root);
  at::Generator stream = generatorStream(static_cast<uint64_t>(o.seed), "idx/classes");
  const torch::Tensor order = torch::randperm(10, stream, torch::kInt64);
  return {areaResized(labelClasses(trainSource, order.slice(0, 0, 5)), o.imageSize),
          areaResized(labelClasses(testSource, order.slice(0, 5)), o.imageSize)};
}

// A split read by load from the files under sources, through the cache.
ClassImages cachedSplit(const FewShotOptions& o, const std::string& kind, const std::vector<std::string>& sources, int64_t channels,
                        const std::function<ClassImages(int64_t size, int64_t channels)>& load) {
  auto loaded = [&] { return load(o.imageSize, channels); };
  return o.cacheDir.empty() ? loaded() : cachedClassImages(o.cacheDir, imageCacheName(kind, sources, o.imageSize, channels), loaded);
}

std::string under(const std::string& root, const std::string& name) { return root + "/" + name; }

FewShotClasses folderClasses(const FewShotOptions& o) {
  auto split = [&](const std::string& name) {
    const std::string folder = under(o.root, name);
    return cachedSplit(o, "folders", {folder}, 3, [&](int64_t size, int64_t channels) { return readClassFolders(folder, size, channels); });
  };
  return {split("train"), split("test")};
}

FewShotClasses omniglotClasses(const FewShotOptions& o) {
  auto split = [&](const std::string& name) {
    const std::string folder = under(o.root, name);
    return cachedSplit(o, "omniglot", {folder}, 1, [&](int64_t size, int64_t channels) { return readAlphabets(folder, size, channels); });
  };
  return {split("images_background"), split("images_evaluation")};
}

FewShotClasses miniImageNetClasses(const FewShotOptions& o) {
  const std::string images = under(o.root, "images");
  auto split = [&](const std::string& name) {
    const std::string csv = under(o.root, name + ".csv");
    return cachedSplit(o, "mini-imagenet-" + name, {csv, images}, 3,
                       [&](int64_t size, int64_t channels) { return readCsvSplit(images, csv, size, channels); });
  };
  return {split("train"), split("test")};
}

}  // namespace

FewShotClasses readFewShotClasses(const FewShotOptions& o) {
  if (o.dataset == "idx") return idxClasses(o);
  if (o.dataset == "folders") return folderClasses(o);
  if (o.dataset == "omniglot") return omniglotClasses(o);
  if (o.dataset == "mini-imagenet") return miniImageNetClasses(o);
  return pairCompositeClasses(o);
}

}  // namespace bilevel::core

#include "core/tasks/nas/image_split.h"

#include <algorithm>

namespace bilevel::core {

namespace F = torch::nn::functional;

ImageSplit takeImages(const LabeledImages& data, const torch::Tensor& rows, torch::Dtype dtype, torch::Device device) {
  torch::Tensor images = data.images.index_select(0, rows).to(torch::TensorOptions().dtype(dtype).device(device)) / 255.0;
  if (images.dim() == 3) images = F::pad(images.unsqueeze(1), F::PadFuncOptions({2, 2, 2, 2}));
  return {images, data.labels.index_select(0, rows).to(device)};
}

ImageSplit headOf(const ImageSplit& split, int64_t rows) { return {split.images.slice(0, 0, rows), split.labels.slice(0, 0, rows)}; }

torch::Tensor splitCrossEntropy(const ImageSplit& split, int64_t chunk, const ImageClassifier& classify,
                                const std::function<void(const torch::Tensor&, const torch::Tensor&)>& visit) {
  const int64_t n = split.labels.size(0);
  torch::Tensor total;
  for (int64_t from = 0; from < n; from += chunk) {
    const int64_t to = std::min(n, from + chunk);
    const torch::Tensor logits = classify(split.images.slice(0, from, to));
    const torch::Tensor labels = split.labels.slice(0, from, to);
    if (visit) visit(logits, labels);
    const torch::Tensor sum = F::cross_entropy(logits, labels, F::CrossEntropyFuncOptions().reduction(torch::kSum));
    total = total.defined() ? total + sum : sum;
  }
  return total / static_cast<double>(n);
}

std::vector<torch::Tensor> splitScores(const ImageSplit& split, int64_t chunk, const ImageClassifier& classify) {
  torch::Tensor correct = torch::zeros({}, torch::TensorOptions().dtype(torch::kInt64).device(split.labels.device()));
  const torch::Tensor loss = splitCrossEntropy(split, chunk, classify, [&](const torch::Tensor& logits, const torch::Tensor& labels) {
    correct += logits.argmax(1).eq(labels).sum();
  });
  return {correct.to(torch::kFloat64) / static_cast<double>(split.labels.size(0)), loss.to(torch::kFloat64)};
}

ImageSplits loadImageSplits(const std::string& dataset, const std::string& root, const SplitSizes& sizes, at::Generator& generator,
                            torch::Dtype dtype, torch::Device device) {
  auto [trainSet, testSet] = readLabeledDataset(dataset, root, kNasImageSize);
  const SplitRows rows = splitRows(sizes, trainSet.labels.size(0), testSet.labels.size(0), generator);
  ImageSplits out{takeImages(trainSet, rows.train, dtype, device), takeImages(trainSet, rows.validation, dtype, device),
                  takeImages(testSet, rows.test, dtype, device), trainSet.labels.max().item<int64_t>() + 1};
  const torch::Tensor mean = out.train.images.mean({0, 2, 3}, true);
  const torch::Tensor std = out.train.images.std({0, 2, 3}, true, true).clamp_min(1e-6);
  for (ImageSplit* split : {&out.train, &out.validation, &out.test}) split->images = (split->images - mean) / std;
  return out;
}

}  // namespace bilevel::core

// The labeled image splits of the NAS tasks (search and retraining): images as [N, C, 32, 32]
// floats normalized by the training split's channel statistics, labels as int64.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <vector>

#include "core/data/labeled_splits.h"

namespace bilevel::core {

// The side of every NAS image: Fashion-MNIST's 28 x 28 padded, as CIFAR-10's; image folders resized to it.
constexpr int64_t kNasImageSize = 32;

struct ImageSplit {
  torch::Tensor images;  // [N, C, 32, 32]
  torch::Tensor labels;  // [N], int64
};

// Rows of `data` as [N, C, 32, 32] floats in [0, 1] of that dtype and device (gray images gain a
// channel and 2 pixels of zero padding on each side).
ImageSplit takeImages(const LabeledImages& data, const torch::Tensor& rows, torch::Dtype dtype, torch::Device device);
// The first `rows` of a split (a view).
ImageSplit headOf(const ImageSplit& split, int64_t rows);

// A dataset's training, held-out and test images as the NAS tasks take them: the seed's
// permutation of each set (core/data/labeled_splits.h), 32 x 32, normalized by the training
// split's per-channel mean and std (DARTS normalizes CIFAR-10 by its training set's).
struct ImageSplits {
  ImageSplit train;
  ImageSplit validation;
  ImageSplit test;
  int64_t classes = 0;  // the largest label + 1
};
// A network's logits of a batch of images, e.g. a forward at fixed weights.
using ImageClassifier = std::function<torch::Tensor(const torch::Tensor&)>;
// The mean cross-entropy over a whole split, `chunk` images per forward (batch norms on each
// chunk's statistics unless the classifier says otherwise); visit, when given, sees each chunk's
// logits and labels. One sum in the logits' dtype, no host sync.
torch::Tensor splitCrossEntropy(const ImageSplit& split, int64_t chunk, const ImageClassifier& classify,
                                const std::function<void(const torch::Tensor&, const torch::Tensor&)>& visit = {});
// {accuracy, mean cross-entropy} of a split as float64 scalars on its device, without a host sync.
std::vector<torch::Tensor> splitScores(const ImageSplit& split, int64_t chunk, const ImageClassifier& classify);

ImageSplits loadImageSplits(const std::string& dataset, const std::string& root, const SplitSizes& sizes, at::Generator& generator,
                            torch::Dtype dtype, torch::Device device);

}  // namespace bilevel::core

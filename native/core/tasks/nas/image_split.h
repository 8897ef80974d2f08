// The labeled image splits of the NAS tasks (search and retraining): images as [N, C, 32, 32]
// floats normalized by the training split's channel statistics, labels as int64.
#pragma once
#include <torch/torch.h>

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
ImageSplits loadImageSplits(const std::string& dataset, const std::string& root, const SplitSizes& sizes, at::Generator& generator,
                            torch::Dtype dtype, torch::Device device);

}  // namespace bilevel::core

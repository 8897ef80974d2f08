// The labeled image splits of the NAS tasks (search and retraining): images as [N, C, 32, 32]
// floats normalized by the training split's channel statistics, labels as int64.
#pragma once
#include <torch/torch.h>

#include "core/data/labeled_splits.h"

namespace bilevel::core {

struct ImageSplit {
  torch::Tensor images;  // [N, C, 32, 32]
  torch::Tensor labels;  // [N], int64
};

// Rows of `data` as [N, C, 32, 32] floats in [0, 1] of that dtype and device (gray images gain a
// channel and 2 pixels of zero padding on each side).
ImageSplit takeImages(const LabeledImages& data, const torch::Tensor& rows, torch::Dtype dtype, torch::Device device);
// The first `rows` of a split (a view).
ImageSplit headOf(const ImageSplit& split, int64_t rows);
// Every split normalized by the first one's per-channel mean and std (DARTS normalizes CIFAR-10
// by its training set's).
void normalizeByFirst(const std::vector<ImageSplit*>& splits);

}  // namespace bilevel::core

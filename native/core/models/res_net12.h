// ResNet-12, the residual backbone of few-shot learning since TADAM and MetaOptNet, on square
// images [B, inChannels, imageSize, imageSize].
#pragma once
#include <array>
#include <memory>

#include "core/models/model.h"

namespace bilevel::core::models {

struct ResNet12Options {
  std::array<int64_t, 4> widths = {64, 160, 320, 640};  // filters of the four residual blocks
  double slope = 0.1;                                    // the leaky ReLU's slope for negative inputs
};

// Four residual blocks, each three conv 3x3 (padding 1, no bias) with batch norm (train mode,
// affine), leaky ReLU after the first two, plus a shortcut of conv 1x1 (no bias) with batch norm;
// their sum goes through the leaky ReLU and max pool 2. Then the flattened features (as
// MetaOptNet's) -> a linear head to classes logits; classes = 0: no head, the output is the
// features [B, resNet12Features(...)]. Parameters, per block K = 1..4:
// blockK.conv1.weight, blockK.norm1.{weight,bias}, conv2, norm2, conv3, norm3,
// blockK.shortcut.conv.weight, blockK.shortcut.norm.{weight,bias}; then head.weight, head.bias.
// DropBlock, a regularizer of the authors' training recipes, is left out: it is not part of the
// function. Refused (INVALID_ARGUMENT): inChannels or a width < 1, classes < 0, an imageSize < 16.
std::shared_ptr<const Model> resNet12(int64_t inChannels, int64_t imageSize, int64_t classes, const ResNet12Options& options = {});
// The features of resNet12 per image: widths[3] x (imageSize / 16)^2, the pooling flooring odd sides.
int64_t resNet12Features(int64_t imageSize, const ResNet12Options& options = {});

}  // namespace bilevel::core::models

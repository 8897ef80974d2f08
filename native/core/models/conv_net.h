// The four-block convolutional network of few-shot learning (ConvNet-4, as in MAML and its
// successors) on square images [B, inChannels, imageSize, imageSize].
#pragma once
#include <memory>

#include "core/models/model.h"

namespace bilevel::core::models {

// Four blocks of conv 3x3 (padding 1, channels filters, with bias) -> batch norm (train mode,
// affine) -> ReLU -> max pool 2, then the flattened features -> a linear head to classes logits;
// classes = 0: no head, the output is the features [B, convNet4Features(...)] (a backbone whose
// heads live elsewhere, e.g. per few-shot task). Parameters blockK.conv.weight, blockK.conv.bias,
// blockK.norm.weight, blockK.norm.bias for K = 1..4, then head.weight, head.bias; convolutions and
// head start as torch's defaults (LinearDefault), the norms at weight 1, bias 0. Refused
// (INVALID_ARGUMENT): a count < 1 (classes < 0), an imageSize < 16 (the fourth pooling would
// leave nothing).
std::shared_ptr<const Model> convNet4(int64_t inChannels, int64_t channels, int64_t imageSize, int64_t classes);
// The features of convNet4 per image: channels x (imageSize / 16)^2, the pooling flooring odd sides.
int64_t convNet4Features(int64_t channels, int64_t imageSize);

}  // namespace bilevel::core::models

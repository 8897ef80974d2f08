// The offline few-shot benchmark (docs/few-shot.md): 100 classes "00".."99" whose images show two
// digits (or two Fashion-MNIST items) side by side, the composite class "ab" being item a on the
// left of item b, in the manner of DoubleMNIST. Built from real IDX data, deterministically from a
// seed: the classes split 64 / 16 / 20 into meta-train / meta-validation / meta-test; training and
// validation composites are made of the source's training images, test composites of its held-out
// test images, so no meta-test image has been seen in meta-training.
#pragma once
#include "core/datasets.h"
#include "core/images/class_images.h"

namespace bilevel::core {

struct EpisodicSplits {
  ClassImages train, validation, test;
};

// imagesPerClass composites per class, uint8 [imagesPerClass, 1, H, 2 W] for sources of [N, H, W]
// with labels 0..9.
EpisodicSplits pairComposites(const LabeledImages& trainSource, const LabeledImages& testSource, int64_t imagesPerClass,
                              uint64_t seed);

}  // namespace bilevel::core

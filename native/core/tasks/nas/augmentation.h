// DARTS's training augmentation of CIFAR-10 images, as torchvision's transforms and DARTS's Cutout
// apply them, but on a normalized batch at once and with draws from a given generator (so a batch
// is augmented the same way however often f is evaluated on it): a random crop of the image padded
// with `cropPadding` zeros on each side, a horizontal flip with probability 1/2, then a square of
// side `cutout` centred at a uniform pixel (clipped at the border) set to zero.
#pragma once
#include <ATen/core/Generator.h>
#include <torch/torch.h>

#include "core/data/batch.h"

namespace bilevel::core {

struct Augmentation {
  int64_t cropPadding = 4;  // 0: no crop
  bool flip = true;
  int64_t cutout = 16;      // 0: no cutout
};

// images [B, C, H, W], `share`'s rows of a batch -> the same shape; the generator is a CPU one and
// draws for the whole batch's rows, so each image is augmented alike however the batch is split.
torch::Tensor augmented(const torch::Tensor& images, const Augmentation& augmentation, at::Generator& generator, const RowShare& share);

}  // namespace bilevel::core

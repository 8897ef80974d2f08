// Readers for the image datasets of the learning tasks: IDX (MNIST, Fashion-MNIST; raw or
// gzipped) and CIFAR-10 binary batches. Errors name the file and the byte offset at fault.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

namespace bilevel::core {

struct LabeledImages {
  torch::Tensor images;  // uint8, [N, H, W] (IDX) or [N, 3, 32, 32] (CIFAR-10)
  torch::Tensor labels;  // int64, [N]
};

// An IDX image file (magic 0x00000803) and its IDX label file (magic 0x00000801).
LabeledImages readIdx(const std::string& imagesPath, const std::string& labelsPath);

// The training and test sets of an IDX folder (MNIST's file names: train-images-idx3-ubyte, ...,
// each gzipped or raw), refused unless both hold images of one shape.
std::pair<LabeledImages, LabeledImages> readIdxFolder(const std::string& root);

// CIFAR-10 binary batches: records of 1 label byte and 3072 pixel bytes, concatenated.
LabeledImages readCifarBatches(const std::vector<std::string>& paths);

}  // namespace bilevel::core

// The labeled image datasets the learning tasks read by name, and their seeded split into
// training, validation (both from the training set) and test rows.
#pragma once
#include <ATen/core/Generator.h>

#include <string>
#include <utility>

#include "core/datasets.h"

namespace bilevel::core {

// The training and test sets of a dataset folder: "fashion-mnist" and "mnist" (IDX files),
// "cifar10" (data_batch_1..5.bin and test_batch.bin), or "folders": root/train/<class>/<image> and
// root/test/<class>/<image> (PNG / JPEG, the same class folders in both), decoded as RGB and
// resized to folderImageSize x folderImageSize; labels are the classes' indices in sorted order.
std::pair<LabeledImages, LabeledImages> readLabeledDataset(const std::string& dataset, const std::string& root,
                                                           int64_t folderImageSize = 32);

struct SplitSizes {
  int64_t train;
  int64_t validation;
  int64_t test;
};

struct SplitRows {
  torch::Tensor train;       // int64 rows of the training set
  torch::Tensor validation;  // the next rows of the same permutation: disjoint from train
  torch::Tensor test;        // int64 rows of the test set
};

// One permutation of the training set's rows from `generator`, then one of the test set's.
// Refused (INVALID_ARGUMENT) when the sets hold fewer rows than asked for.
SplitRows splitRows(const SplitSizes& sizes, int64_t trainAvailable, int64_t testAvailable, at::Generator& generator);

}  // namespace bilevel::core

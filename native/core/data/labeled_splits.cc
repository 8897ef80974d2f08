#include "core/data/labeled_splits.h"

#include "core/error.h"
#include "core/images/class_folders.h"

namespace bilevel::core {
namespace {

// One class folder tree as labeled images, labels in the trees' class order.
LabeledImages labeled(const ClassImages& classes) {
  std::vector<torch::Tensor> labels;
  for (int64_t c = 0; c < classes.classes(); ++c) labels.push_back(torch::full({classes.images[c].size(0)}, c, torch::kInt64));
  return {torch::cat(classes.images), torch::cat(labels)};
}

std::pair<LabeledImages, LabeledImages> readImageFolders(const std::string& root, int64_t size) {
  const ClassImages train = readClassFolders(root + "/train", size, 3);
  const ClassImages test = readClassFolders(root + "/test", size, 3);
  if (train.names != test.names) {
    throw Error("INVALID_ARGUMENT", root + ": train/ and test/ must hold the same class folders (" + std::to_string(train.classes()) +
                                        " and " + std::to_string(test.classes()) + " folders, or other names)");
  }
  return {labeled(train), labeled(test)};
}

}  // namespace

std::pair<LabeledImages, LabeledImages> readLabeledDataset(const std::string& dataset, const std::string& root,
                                                           int64_t folderImageSize) {
  if (dataset == "fashion-mnist" || dataset == "mnist") return readIdxFolder(root);
  if (dataset == "folders") return readImageFolders(root, folderImageSize);
  if (dataset == "cifar10") {
    std::vector<std::string> train;
    for (int i = 1; i <= 5; ++i) train.push_back(root + "/data_batch_" + std::to_string(i) + ".bin");
    return {readCifarBatches(train), readCifarBatches({root + "/test_batch.bin"})};
  }
  throw Error("INVALID_ARGUMENT", "dataset must be one of fashion-mnist, mnist, cifar10, folders; got '" + dataset + "'");
}

SplitRows splitRows(const SplitSizes& sizes, int64_t trainAvailable, int64_t testAvailable, at::Generator& generator) {
  if (sizes.train + sizes.validation > trainAvailable) {
    throw Error("INVALID_ARGUMENT", "trainSize + validationSize = " + std::to_string(sizes.train + sizes.validation) +
                                        " exceeds the " + std::to_string(trainAvailable) + " training images");
  }
  if (sizes.test > testAvailable) {
    throw Error("INVALID_ARGUMENT", "testSize " + std::to_string(sizes.test) + " exceeds the " + std::to_string(testAvailable) +
                                        " test images");
  }
  const torch::Tensor order = torch::randperm(trainAvailable, generator, torch::kInt64);
  return {order.slice(0, 0, sizes.train), order.slice(0, sizes.train, sizes.train + sizes.validation),
          torch::randperm(testAvailable, generator, torch::kInt64).slice(0, 0, sizes.test)};
}

}  // namespace bilevel::core

#include "core/data/labeled_splits.h"

#include "core/error.h"

namespace bilevel::core {

std::pair<LabeledImages, LabeledImages> readLabeledDataset(const std::string& dataset, const std::string& root) {
  if (dataset == "fashion-mnist" || dataset == "mnist") return readIdxFolder(root);
  if (dataset == "cifar10") {
    std::vector<std::string> train;
    for (int i = 1; i <= 5; ++i) train.push_back(root + "/data_batch_" + std::to_string(i) + ".bin");
    return {readCifarBatches(train), readCifarBatches({root + "/test_batch.bin"})};
  }
  throw Error("INVALID_ARGUMENT", "dataset must be one of fashion-mnist, mnist, cifar10; got '" + dataset + "'");
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

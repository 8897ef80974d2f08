#include "core/data/batch.h"

#include "core/error.h"

namespace bilevel::core {

torch::Tensor RowShare::own(const torch::Tensor& whole) const {
  const int64_t rows = whole.size(0) / count;
  return whole.narrow(0, index * rows, rows);
}

const torch::Tensor& Batch::at(const std::string& name) const {
  for (const auto& [key, tensor] : tensors_) {
    if (key == name) return tensor;
  }
  std::string names;
  for (const auto& entry : tensors_) names += (names.empty() ? "" : ", ") + entry.first;
  throw Error("INVALID_ARGUMENT", "the batch has no tensor '" + name + "' (it holds: " + (names.empty() ? "none" : names) + ")");
}

const Batch& IterationBatches::lowerAt(int64_t k) const {
  static const Batch none;
  if (lower.empty()) return none;
  if (lower.size() == 1) return lower.front();
  if (k < 0 || k >= static_cast<int64_t>(lower.size())) {
    throw Error("INVALID_ARGUMENT", "LL step " + std::to_string(k) + " has no batch: the sampler drew " +
                                        std::to_string(lower.size()) + " for this iteration");
  }
  return lower[static_cast<size_t>(k)];
}

}  // namespace bilevel::core

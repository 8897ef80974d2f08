#include "core/data/row_sampler.h"

#include "core/error.h"

namespace bilevel::core {

RowSampler::RowSampler(int64_t rows, int64_t batchSize, at::Generator generator, torch::Device device, int64_t upperRows)
    : StreamSampler(std::move(generator)), rows_(rows), batchSize_(batchSize), device_(device), upperRows_(upperRows) {
  if (rows < 1 || batchSize < 1 || upperRows < 0) {
    throw Error("INVALID_ARGUMENT", "a row sampler needs rows >= 1, batchSize >= 1 and upperRows >= 0; got " + std::to_string(rows) +
                                        ", " + std::to_string(batchSize) + " and " + std::to_string(upperRows));
  }
}

IterationBatches RowSampler::next(int64_t lowerSteps) {
  // One draw for the whole iteration (K x batchSize indices), a row of it per step.
  const torch::Tensor rows = torch::randint(rows_, {lowerSteps, batchSize_}, generator_, torch::kInt64).to(device_);
  IterationBatches batches;
  batches.lower.reserve(static_cast<size_t>(lowerSteps));
  for (int64_t k = 0; k < lowerSteps; ++k) batches.lower.emplace_back(Batch({{"rows", rows[k]}}));
  if (upperRows_ > 0) batches.upper = Batch({{"rows", torch::randint(upperRows_, {batchSize_}, generator_, torch::kInt64).to(device_)}});
  return batches;
}

}  // namespace bilevel::core

// Mini-batches of rows: for each LL step, `batchSize` row indices of a population drawn uniformly
// with replacement from the sampler's own generator stream. F's batch is empty (the full data).
#pragma once
#include "core/data/sampler.h"

namespace bilevel::core {

class RowSampler : public StreamSampler {
 public:
  // rows: the population size; batchSize >= 1; generator: the stream the rows are drawn from.
  RowSampler(int64_t rows, int64_t batchSize, at::Generator generator, torch::Device device);

  IterationBatches next(int64_t lowerSteps) override;

 private:
  int64_t rows_;
  int64_t batchSize_;
  torch::Device device_;
};

}  // namespace bilevel::core

// Mini-batches of rows: for each LL step, `batchSize` row indices of a population drawn uniformly
// with replacement from the sampler's own generator stream. F's batch is empty (the full data),
// or, given an upper population, `batchSize` of its rows drawn after the LL steps' (a fresh
// validation batch per UL iteration, as DARTS takes one per architecture step).
#pragma once
#include "core/data/sampler.h"

namespace bilevel::core {

class RowSampler : public StreamSampler {
 public:
  // rows: the population size; batchSize >= 1; generator: the stream the rows are drawn from;
  // upperRows: F's population (0: F takes the full data).
  RowSampler(int64_t rows, int64_t batchSize, at::Generator generator, torch::Device device, int64_t upperRows = 0);

  IterationBatches next(int64_t lowerSteps) override;

 private:
  int64_t rows_;
  int64_t batchSize_;
  torch::Device device_;
  int64_t upperRows_;
};

}  // namespace bilevel::core

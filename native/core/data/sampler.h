// Samplers draw the batches of each UL iteration (data/batch.h). A sampler's whole state (its
// generator streams, any cursor) goes into the solver's checkpoint, so a resumed run draws the
// batches an uninterrupted one would have drawn.
#pragma once
#include <memory>
#include <string>

#include "core/checkpoint.h"
#include "core/data/batch.h"
#include "core/data/generator_stream.h"

namespace bilevel::core {

class Sampler {
 public:
  virtual ~Sampler() = default;
  // The batches of the next UL iteration, whose unroll runs `lowerSteps` LL steps.
  virtual IterationBatches next(int64_t lowerSteps) = 0;
  // Records under `prefix`; a load reads and checks them and returns the step that commits them.
  virtual void save(StateWriter& writer, const std::string& prefix) const = 0;
  virtual Commit load(StateReader& reader, const std::string& prefix) = 0;
};

// A sampler whose whole state is one generator stream (record "<prefix>generator"); what it draws
// from the stream is its subclass's.
class StreamSampler : public Sampler {
 public:
  explicit StreamSampler(at::Generator generator) : generator_(std::move(generator)) {}
  void save(StateWriter& writer, const std::string& prefix) const final { saveGenerator(writer, prefix + "generator", generator_); }
  Commit load(StateReader& reader, const std::string& prefix) final { return loadGenerator(reader, prefix + "generator", generator_); }

 protected:
  at::Generator generator_;
};

}  // namespace bilevel::core

// Named generator streams: each random purpose of a run (the task's split and initialization,
// mini-batch sampling, later one per rank) draws from a CPU generator of its own, seeded from
// (seed, name), so adding draws to one purpose never shifts the numbers of another. A stream's
// whole state can be saved and restored through a checkpoint.
#pragma once
#include <ATen/core/Generator.h>

#include <string>

#include "core/checkpoint.h"

namespace bilevel::core {

// The seed of stream `name` of a run seeded with `seed` (SplitMix64 of the seed mixed with the
// name's FNV-1a hash): distinct names give unrelated streams.
uint64_t streamSeed(uint64_t seed, const std::string& name);
// A CPU generator seeded with streamSeed(seed, name).
at::Generator generatorStream(uint64_t seed, const std::string& name);

// The generator's state as one record, and its load: the state is checked (by a trial generator)
// before the returned step restores it.
void saveGenerator(StateWriter& writer, const std::string& name, const at::Generator& generator);
Commit loadGenerator(StateReader& reader, const std::string& name, at::Generator& generator);

}  // namespace bilevel::core

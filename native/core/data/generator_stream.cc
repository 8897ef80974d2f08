#include "core/data/generator_stream.h"

#include <ATen/CPUGeneratorImpl.h>

#include <mutex>

#include "core/error.h"

namespace bilevel::core {

uint64_t streamSeed(uint64_t seed, const std::string& name) {
  uint64_t hash = 14695981039346656037ull;  // FNV-1a
  for (const unsigned char c : name) hash = (hash ^ c) * 1099511628211ull;
  uint64_t z = seed ^ hash;  // SplitMix64's finalizer spreads every input bit over the output
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

at::Generator generatorStream(uint64_t seed, const std::string& name) {
  return at::detail::createCPUGenerator(streamSeed(seed, name));
}

void saveGenerator(StateWriter& writer, const std::string& name, const at::Generator& generator) {
  at::Generator handle = generator;  // a second handle of the same generator: get_state() is not const
  std::lock_guard<std::mutex> lock(handle.mutex());
  writer.tensor(name, handle.get_state());
}

Commit loadGenerator(StateReader& reader, const std::string& name, at::Generator& generator) {
  const torch::Tensor state = reader.tensor(name);
  try {
    at::detail::createCPUGenerator().set_state(state);  // throws on a malformed state before anything changes
  } catch (const c10::Error& e) {
    throw Error("INVALID_ARGUMENT", reader.path() + ": '" + name + "' is not a generator state: " + e.what_without_backtrace());
  }
  return [&generator, state] {
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(state);
  };
}

}  // namespace bilevel::core

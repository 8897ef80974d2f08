// Within one unroll (core/dynamics.h) x and the iteration's batches are fixed, so a problem may
// compute what it derives from them once (the few-shot backbone's features) and reuse it for every
// LL step of that unroll. Each unroll gets an id of its own on its thread; outside any unroll the
// id is 0 and nothing may be reused: a backward that freed the autograd graph of what was derived
// may have run in between (finite differences, a second unroll of PTT, the next iteration).
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor_list.h"

namespace bilevel::core {

class UnrollScope {
 public:
  UnrollScope();   // this thread's unroll id becomes a fresh one
  ~UnrollScope();  // and goes back to what it was
  UnrollScope(const UnrollScope&) = delete;
  UnrollScope& operator=(const UnrollScope&) = delete;

  // The id of the unroll this thread is in; 0 outside any.
  static uint64_t current();

 private:
  uint64_t previous_;
};

// The very tensors of a list as they were when seen (the same storage at the same version, not
// equal values): what a cache of one unroll's derivations from x is keyed on.
class SeenTensors {
 public:
  SeenTensors() = default;
  explicit SeenTensors(TensorList tensors);  // held, so their addresses cannot be reused meanwhile
  bool are(const TensorList& tensors) const;

 private:
  TensorList tensors_;
  std::vector<int64_t> versions_;
};

}  // namespace bilevel::core

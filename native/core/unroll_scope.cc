#include "core/unroll_scope.h"

#include <atomic>

namespace bilevel::core {
namespace {
std::atomic<uint64_t> lastId{0};
thread_local uint64_t currentId = 0;
}  // namespace

UnrollScope::UnrollScope() : previous_(currentId) { currentId = ++lastId; }

UnrollScope::~UnrollScope() { currentId = previous_; }

uint64_t UnrollScope::current() { return currentId; }

SeenTensors::SeenTensors(TensorList tensors) : tensors_(std::move(tensors)) {
  for (const torch::Tensor& t : tensors_) versions_.push_back(t._version());
}

bool SeenTensors::are(const TensorList& tensors) const {
  if (tensors.size() != tensors_.size()) return false;
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].unsafeGetTensorImpl() != tensors_[i].unsafeGetTensorImpl() || tensors[i]._version() != versions_[i]) return false;
  }
  return true;
}

}  // namespace bilevel::core

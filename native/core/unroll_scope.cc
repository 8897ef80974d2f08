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

}  // namespace bilevel::core

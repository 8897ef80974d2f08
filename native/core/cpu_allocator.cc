#include "core/cpu_allocator.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <torch/version.h>

#include <mutex>
#include <unordered_map>
#include <vector>

namespace bilevel::core {
namespace {

constexpr size_t kHeaderBytes = 64;            // keeps the data 64-byte aligned; holds the block size
constexpr size_t kMinCachedBytes = 256;        // smaller blocks go straight back to malloc
constexpr size_t kMaxCachedBytes = 128 << 20;  // the cache never holds more than this

class BlockCache {
 public:
  void* take(size_t size) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = free_.find(size);
    if (it == free_.end() || it->second.empty()) return nullptr;
    void* block = it->second.back();
    it->second.pop_back();
    cached_ -= size;
    return block;
  }

  bool keep(void* block, size_t size) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cached_ + size > kMaxCachedBytes) return false;
    free_[size].push_back(block);
    cached_ += size;
    return true;
  }

  void clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [size, blocks] : free_) {
      for (void* block : blocks) c10::free_cpu(block);
    }
    free_.clear();
    cached_ = 0;
  }

  int64_t cached() {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<int64_t>(cached_);
  }

 private:
  std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  size_t cached_ = 0;
};

// Never destroyed: tensors may still be freed while the process exits.
BlockCache& cache() {
  static BlockCache* instance = new BlockCache();
  return *instance;
}

// Reports to LibTorch's memory profiler hook, as the default allocator does (see core/memory.h).
void report(void* data, int64_t bytes) {
  if (c10::memoryProfilingEnabled()) {
    c10::reportMemoryUsageToProfiler(data, bytes, 0, 0, c10::Device(c10::DeviceType::CPU));
  }
}

void freeBlock(void* data) {
  char* block = static_cast<char*>(data) - kHeaderBytes;
  const size_t size = *reinterpret_cast<size_t*>(block);
  report(data, -static_cast<int64_t>(size));
  if (size < kMinCachedBytes || !cache().keep(block, size)) c10::free_cpu(block);
}

// LibTorch 2.3 made Allocator::allocate non-const and added the pure copy_data.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
#define BILEVEL_TORCH_2_3_ALLOCATOR 1
#define BILEVEL_ALLOCATE_CONST
#else
#define BILEVEL_TORCH_2_3_ALLOCATOR 0
#define BILEVEL_ALLOCATE_CONST const
#endif

class CachingCpuAllocator final : public c10::Allocator {
 public:
  c10::DataPtr allocate(size_t bytes) BILEVEL_ALLOCATE_CONST override {
    const size_t size = (bytes + 63) & ~static_cast<size_t>(63);
    void* block = size >= kMinCachedBytes ? cache().take(size) : nullptr;
    if (block == nullptr) block = c10::alloc_cpu(size + kHeaderBytes);
    *static_cast<size_t*>(block) = size;
    void* data = static_cast<char*>(block) + kHeaderBytes;
    report(data, static_cast<int64_t>(size));
    return {data, data, &freeBlock, c10::Device(c10::DeviceType::CPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &freeBlock; }

#if BILEVEL_TORCH_2_3_ALLOCATOR
  void copy_data(void* dest, const void* src, std::size_t count) const override { default_copy_data(dest, src, count); }
#endif
};

}  // namespace

void installCachingCpuAllocator() {
  static CachingCpuAllocator allocator;
  static std::once_flag installed;
  std::call_once(installed, [] { c10::SetCPUAllocator(&allocator, /*priority=*/1); });
}

int64_t cachedCpuBytes() { return cache().cached(); }

void releaseCachedCpuMemory() { cache().clear(); }

}  // namespace bilevel::core

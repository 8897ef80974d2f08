// A CPU allocator for LibTorch that keeps freed blocks for reuse, like LibTorch's CUDA caching
// allocator. Solvers free and reallocate same-sized tensors every step; handing back the block
// just freed avoids fresh pages (page faults) and heap fragmentation between tensors and the
// small allocations of the JS runtime.
#pragma once
#include <cstdint>

namespace bilevel::core {

// Installs the allocator for every CPU tensor allocated afterwards; idempotent.
void installCachingCpuAllocator();

// Bytes held in the cache (free blocks kept for reuse), bounded by kMaxCachedBytes.
int64_t cachedCpuBytes();

// Frees every cached block.
void releaseCachedCpuMemory();

}  // namespace bilevel::core

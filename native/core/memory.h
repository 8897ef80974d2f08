// Peak bytes of tensor memory allocated while a scope is alive on this thread, read from
// LibTorch's allocator reports (the profiler hook), so it counts autograd's saved tensors too.
#pragma once
#include <c10/core/Allocator.h>
#include <c10/util/ThreadLocalDebugInfo.h>

#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#ifndef _WIN32
#include <fcntl.h>
#include <unistd.h>
#endif

namespace bilevel::core {

class PeakMemory {
 public:
  PeakMemory() : report_(std::make_shared<Report>()), guard_(c10::DebugInfoKind::PROFILER_STATE, report_) {}
  int64_t peakBytes() const { return report_->peak; }

  // LibTorch logs a warning, once per process, when a block allocated before a report scope
  // is freed inside one. Trigger it here, at load time, with stderr muted.
  static void primeQuietly() {
#ifndef _WIN32
    std::fflush(stderr);
    const int saved = dup(2);
    const int devNull = open("/dev/null", O_WRONLY);
    if (saved < 0 || devNull < 0 || dup2(devNull, 2) < 0) {
      if (saved >= 0) close(saved);
      if (devNull >= 0) close(devNull);
      return;
    }
    {
      torch::Tensor early = torch::empty({16});
      PeakMemory scope;
      early.reset();
    }
    std::fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(devNull);
#endif
  }

 private:
  struct Report : c10::MemoryReportingInfoBase {
    void reportMemoryUsage(void*, int64_t bytes, int64_t, int64_t, c10::Device) override {
      current += bytes;
      peak = std::max(peak, current);
    }
    bool memoryProfilingEnabled() const override { return true; }
    int64_t current = 0;
    int64_t peak = 0;
  };
  std::shared_ptr<Report> report_;
  c10::DebugInfoGuard guard_;
};

}  // namespace bilevel::core

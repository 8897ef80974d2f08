// Peak bytes of tensor memory allocated while a scope is alive on this thread, read from the
// allocator's reports (LibTorch's profiler hook), so it counts autograd's saved tensors too.
#pragma once
#include <c10/core/Allocator.h>
#include <c10/util/ThreadLocalDebugInfo.h>

#include <algorithm>
#include <memory>

namespace bilevel::core {

// The type of the allocator totals the profiler hook receives (int64_t in LibTorch 1.x, size_t in 2.x).
template <typename>
struct ReportedTotal;
template <typename Base, typename Total>
struct ReportedTotal<void (Base::*)(void*, int64_t, Total, Total, c10::Device)> {
  using type = Total;
};

class PeakMemory {
 public:
  PeakMemory() : report_(std::make_shared<Report>()), guard_(c10::DebugInfoKind::PROFILER_STATE, report_) {}
  int64_t peakBytes() const { return report_->peak; }

 private:
  using Total = ReportedTotal<decltype(&c10::MemoryReportingInfoBase::reportMemoryUsage)>::type;
  struct Report : c10::MemoryReportingInfoBase {
    void reportMemoryUsage(void*, int64_t bytes, Total, Total, c10::Device) override {
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

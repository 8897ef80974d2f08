// Native bytes a JS handle owns, reported to V8 as external memory so that its garbage collector
// weighs them, until release() or destruction.
#pragma once
#include <napi.h>

#include <cstdint>

namespace bilevel::binding {

class ExternalMemory {
 public:
  explicit ExternalMemory(Napi::Env env) : env_(env) {}
  ~ExternalMemory() { release(); }
  ExternalMemory(const ExternalMemory&) = delete;
  ExternalMemory& operator=(const ExternalMemory&) = delete;

  void report(int64_t bytes) {
    release();
    bytes_ = bytes;
    if (bytes_ != 0) Napi::MemoryManagement::AdjustExternalMemory(env_, bytes_);
  }
  // The C call, not Napi::MemoryManagement's, which throws when the environment is ending: this
  // runs in finalizers and destructors, where an exception would terminate the process.
  void release() {
    int64_t ignored = 0;
    if (bytes_ != 0) napi_adjust_external_memory(env_, -bytes_, &ignored);
    bytes_ = 0;
  }
  int64_t bytes() const { return bytes_; }

 private:
  Napi::Env env_;
  int64_t bytes_ = 0;
};

}  // namespace bilevel::binding

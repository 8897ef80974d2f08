// The JS handle of a core::ProcessGroup: joined by joinProcessGroup(environment) off the JS thread
// (the rendezvous waits for every rank), passed to createSolver to solve data-parallel.
#pragma once
#include <napi.h>

#include <memory>

#include "core/distributed/process_group.h"

namespace bilevel::binding {

class ProcessGroupWrap : public Napi::ObjectWrap<ProcessGroupWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  // The group of a NativeProcessGroup (INVALID_ARGUMENT for anything else, DISPOSED once left).
  static std::shared_ptr<const core::ProcessGroup> unwrap(const Napi::Value& value);
  explicit ProcessGroupWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value rank(const Napi::CallbackInfo& info);
  Napi::Value worldSize(const Napi::CallbackInfo& info);
  Napi::Value barrier(const Napi::CallbackInfo& info);
  Napi::Value communication(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);

  std::shared_ptr<core::ProcessGroup> group_;
};

}  // namespace bilevel::binding

// The JS handle of a core::Problem: a built-in, or F and f written as TypeScript callbacks.
#pragma once
#include <napi.h>

#include <memory>

#include "binding/external_memory.h"
#include "core/problem.h"

namespace bilevel::binding {

class ProblemWrap : public Napi::ObjectWrap<ProblemWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  static Napi::Object wrap(Napi::Env env, std::shared_ptr<core::Problem> problem);
  static std::shared_ptr<core::Problem> unwrap(const Napi::Value& value);

  explicit ProblemWrap(const Napi::CallbackInfo& info);
  ~ProblemWrap() override;

 private:
  Napi::Value variables(const Napi::CallbackInfo& info);
  Napi::Value metrics(const Napi::CallbackInfo& info);
  Napi::Value views(const Napi::CallbackInfo& info);
  Napi::Value data(const Napi::CallbackInfo& info);
  Napi::Value pretrain(const Napi::CallbackInfo& info);
  Napi::Value bytes(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);
  // The problem, unless disposed (DISPOSED then).
  core::Problem& live() const;
  // Drops this handle's share of the problem (solvers started from it keep theirs).
  void release();
  std::shared_ptr<core::Problem> problem_;
  ExternalMemory memory_;  // the problem's bytes, reported to V8
};

}  // namespace bilevel::binding

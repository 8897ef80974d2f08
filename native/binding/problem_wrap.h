// The JS handle of a core::Problem: a built-in, or F and f written as TypeScript callbacks.
#pragma once
#include <napi.h>

#include <memory>

#include "core/problem.h"

namespace bilevel::binding {

class ProblemWrap : public Napi::ObjectWrap<ProblemWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  static Napi::Object wrap(Napi::Env env, std::shared_ptr<core::Problem> problem);
  static std::shared_ptr<core::Problem> unwrap(const Napi::Value& value);

  explicit ProblemWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value variables(const Napi::CallbackInfo& info);
  Napi::Value metrics(const Napi::CallbackInfo& info);
  Napi::Value data(const Napi::CallbackInfo& info);
  Napi::Value pretrain(const Napi::CallbackInfo& info);
  std::shared_ptr<core::Problem> problem_;
};

}  // namespace bilevel::binding

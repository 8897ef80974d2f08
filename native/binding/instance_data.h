// What the addon keeps per Node.js environment. The main thread and each worker thread load the
// addon separately, each with its own JS heap: a constructor or class reference made in one must
// never be used from another, so they live here instead of in statics.
#pragma once
#include <napi.h>

namespace bilevel::binding {

struct InstanceData {
  Napi::FunctionReference tensorClass;
  Napi::FunctionReference problemClass;
  Napi::FunctionReference solverClass;
  Napi::FunctionReference processGroupClass;
  Napi::FunctionReference errorClass;  // BilevelError, once the library has handed it over
};

// Created by the module's init for env; freed with the environment.
void createInstanceData(Napi::Env env);
InstanceData& instanceData(Napi::Env env);

}  // namespace bilevel::binding

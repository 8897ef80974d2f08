// Module-level functions: factories, random numbers, joins and neural-network ops.
#pragma once
#include <napi.h>

namespace bilevel::binding {
void registerFactories(Napi::Env env, Napi::Object exports);
void registerFunctional(Napi::Env env, Napi::Object exports);

}  // namespace bilevel::binding

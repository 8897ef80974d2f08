// Each binding unit adds its exports to the module through one of these.
#pragma once
#include <napi.h>

namespace bilevel::binding {
void registerArchitectures(Napi::Env env, Napi::Object exports);
void registerFactories(Napi::Env env, Napi::Object exports);
void registerFunctional(Napi::Env env, Napi::Object exports);
void registerProblems(Napi::Env env, Napi::Object exports);
void registerProcessGroups(Napi::Env env, Napi::Object exports);
void registerSolvers(Napi::Env env, Napi::Object exports);
void registerTasks(Napi::Env env, Napi::Object exports);

// The task registry's option declarations as JS ({task: fields}), for describeOptions().
Napi::Object describeTasks(Napi::Env env);
// The settings each task's metrics() takes ({task: fields}, tasks that take some), likewise.
Napi::Object describeMetricSettings(Napi::Env env);

}  // namespace bilevel::binding

// createTask / createTaskSync: the registry's tasks (core/tasks/registry.h) from JavaScript. The
// options are read and checked on the JS thread; building the problem (reading a dataset) runs
// on the compute thread, awaited by a libuv worker for createTask and by the JS thread for
// createTaskSync.
#include "binding/compute_thread.h"
#include "binding/convert.h"
#include "binding/errors.h"
#include "binding/js_options.h"
#include "binding/problem_wrap.h"
#include "binding/promise_worker.h"
#include "binding/register.h"
#include "core/tasks/registry.h"

namespace bilevel::binding {
namespace {

// (name, options, placement {dtype?, device?}) -> the build of that task.
core::TaskBuild prepareTask(const Napi::CallbackInfo& info) {
  if (!info[0].IsString()) throw CodedError("INVALID_ARGUMENT", "the task's name must be a string");
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  const core::Task& task = core::findTask(name);
  core::Placement placement;
  if (info[2].IsObject()) {
    const Napi::Object where = info[2].As<Napi::Object>();
    if (!where.Get("dtype").IsUndefined()) placement.dtype = parseDtype(where.Get("dtype"));
    placement.device = parseDevice(where.Get("device"));
  }
  return task.prepare(JsOptions(info[1], name), placement);
}

// createTask(name, options, placement?) -> Promise<NativeProblem>
Napi::Value createTask(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "createTask", [&] {
    return Napi::Value(PromiseWorker<std::shared_ptr<core::Problem>>::start(
        info.Env(), "createTask", prepareTask(info),
        [](Napi::Env env, std::shared_ptr<core::Problem>& problem) { return Napi::Value(ProblemWrap::wrap(env, problem)); }));
  });
}

// createTaskSync(name, options, placement?) -> NativeProblem, for tasks without data to read.
Napi::Value createTaskSync(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "createTask", [&] { return Napi::Value(ProblemWrap::wrap(info.Env(), computed(prepareTask(info)))); });
}

}  // namespace

Napi::Object describeTasks(Napi::Env env) {
  Napi::Object out = Napi::Object::New(env);
  for (const core::Task& task : core::taskRegistry()) out.Set(task.name, describeFields(env, task.options));
  return out;
}

Napi::Object describeMetricSettings(Napi::Env env) {
  Napi::Object out = Napi::Object::New(env);
  for (const core::Task& task : core::taskRegistry()) {
    if (!task.metricSettings.empty()) out.Set(task.name, describeFields(env, task.metricSettings));
  }
  return out;
}

void registerTasks(Napi::Env env, Napi::Object exports) {
  exports.Set("createTask", Napi::Function::New<createTask>(env, "createTask"));
  exports.Set("createTaskSync", Napi::Function::New<createTaskSync>(env, "createTaskSync"));
}

}  // namespace bilevel::binding

#include "binding/process_group_wrap.h"

#include <map>

#include "binding/errors.h"
#include "binding/instance_data.h"
#include "binding/promise_worker.h"
#include "binding/register.h"

namespace bilevel::binding {
namespace {

using GroupPointer = std::shared_ptr<core::ProcessGroup>;

// The string members of a JS object (process.env), for the core's reading of torchrun's variables.
std::map<std::string, std::string> stringMembers(const Napi::Value& value) {
  if (!value.IsObject()) throw CodedError("INVALID_ARGUMENT", "joinProcessGroup: the environment must be an object of strings");
  const Napi::Object object = value.As<Napi::Object>();
  const Napi::Array names = object.GetPropertyNames();
  std::map<std::string, std::string> out;
  for (uint32_t i = 0; i < names.Length(); ++i) {
    const std::string name = names.Get(i).ToString().Utf8Value();
    const Napi::Value member = object.Get(name);
    if (member.IsString()) out[name] = member.As<Napi::String>().Utf8Value();
  }
  return out;
}

// joinProcessGroup(environment) -> Promise<NativeProcessGroup>: the settings are read on the JS
// thread (refusals reject at once), the rendezvous runs on the compute thread.
Napi::Value joinProcessGroup(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "joinProcessGroup", [&] {
    const core::ProcessGroupSettings settings = core::processGroupSettings(stringMembers(info[0]));
    return Napi::Value(PromiseWorker<GroupPointer>::start(
        info.Env(), "joinProcessGroup", [settings] { return std::make_shared<core::ProcessGroup>(settings); },
        [](Napi::Env env, GroupPointer& group) {
          return Napi::Value(instanceData(env).processGroupClass.New({Napi::External<GroupPointer>::New(env, &group)}));
        }));
  });
}

}  // namespace

Napi::Function ProcessGroupWrap::define(Napi::Env env) {
  Napi::Function cls = DefineClass(env, "NativeProcessGroup", {InstanceMethod<&ProcessGroupWrap::rank>("rank"),
                                                               InstanceMethod<&ProcessGroupWrap::worldSize>("worldSize"),
                                                               InstanceMethod<&ProcessGroupWrap::barrier>("barrier"),
                                                               InstanceMethod<&ProcessGroupWrap::communication>("communication"),
                                                               InstanceMethod<&ProcessGroupWrap::dispose>("dispose")});
  instanceData(env).processGroupClass = Napi::Persistent(cls);
  return cls;
}

std::shared_ptr<const core::ProcessGroup> ProcessGroupWrap::unwrap(const Napi::Value& value) {
  if (!value.IsObject() || !value.As<Napi::Object>().InstanceOf(instanceData(value.Env()).processGroupClass.Value())) {
    throw CodedError("INVALID_ARGUMENT", "expected a process group (joinProcessGroup)");
  }
  const GroupPointer& group = Unwrap(value.As<Napi::Object>())->group_;
  if (!group) throw CodedError("DISPOSED", "the process group was disposed");
  return group;
}

ProcessGroupWrap::ProcessGroupWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ProcessGroupWrap>(info) {
  if (!info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "NativeProcessGroup is created by joinProcessGroup");
  group_ = *info[0].As<Napi::External<GroupPointer>>().Data();
}

Napi::Value ProcessGroupWrap::rank(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "rank", [&] { return Napi::Value(Napi::Number::New(info.Env(), unwrap(Value())->rank())); });
}

Napi::Value ProcessGroupWrap::worldSize(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "worldSize", [&] { return Napi::Value(Napi::Number::New(info.Env(), unwrap(Value())->worldSize())); });
}

// barrier() -> Promise<void>: resolves once every rank has reached it.
Napi::Value ProcessGroupWrap::barrier(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "barrier", [&] {
    const std::shared_ptr<const core::ProcessGroup> group = unwrap(Value());
    return Napi::Value(PromiseWorker<bool>::start(
        info.Env(), "barrier", [group] { return (group->barrier(), true); },
        [](Napi::Env env, bool&) { return env.Undefined(); }));
  });
}

// communication() -> {collectives, milliseconds}: what this process's collectives took so far.
Napi::Value ProcessGroupWrap::communication(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "communication", [&] {
    const core::ProcessGroup::Communication c = unwrap(Value())->communication();
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("collectives", static_cast<double>(c.collectives));
    out.Set("milliseconds", c.milliseconds);
    return Napi::Value(out);
  });
}

// Leaves the group: solvers made with it keep it until they are freed.
Napi::Value ProcessGroupWrap::dispose(const Napi::CallbackInfo& info) {
  group_.reset();
  return info.Env().Undefined();
}

void registerProcessGroups(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeProcessGroup", ProcessGroupWrap::define(env));
  exports.Set("joinProcessGroup", Napi::Function::New<joinProcessGroup>(env, "joinProcessGroup"));
}

}  // namespace bilevel::binding

// A slow native call as a Promise (node-llama-cpp's pattern): the work runs on the compute thread
// (binding/compute_thread.h) while a libuv worker waits for it, and holds what it needs (shared pointers, copies), so the objects it uses stay alive
// whatever JavaScript does meanwhile; the promise resolves on the JS thread with the value
// `finish` makes of the result, or rejects with the coded BilevelError of what the work threw.
// `settled`, when given, runs on the JS thread just before, either way (e.g. to mark the object
// the work used as free again); it must not throw.
#pragma once
#include <napi.h>

#include <functional>
#include <optional>
#include <string>

#include "binding/compute_thread.h"
#include "binding/errors.h"

namespace bilevel::binding {

template <typename Result>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<Result()>;
  using Finish = std::function<Napi::Value(Napi::Env, Result&)>;
  using Settled = std::function<void()>;

  static Napi::Promise start(Napi::Env env, std::string operation, Work work, Finish finish, Settled settled = {}) {
    auto* worker = new PromiseWorker(env, std::move(operation), std::move(work), std::move(finish), std::move(settled));
    const Napi::Promise promise = worker->deferred_.Promise();
    worker->Queue();  // node-addon-api deletes the worker once it has settled
    return promise;
  }

 protected:
  void Execute() override {
    try {
      onComputeThread([this] { result_ = work_(); });
    } catch (const CodedError& e) {
      fail(e.code, e.what(), e.cause);
    } catch (const std::exception& e) {
      const std::string cause = torchMessage(e);
      fail(classifyException(e), cause.substr(0, cause.find('\n')), cause);
    } catch (...) {
      fail("NATIVE", "unknown native error", "");
    }
  }

  // Called by node-addon-api outside any try: nothing may escape, or the process terminates.
  void OnOK() override {
    if (settled_) settled_();
    try {
      deferred_.Resolve(guarded(Env(), operation_.c_str(), [&] { return finish_(Env(), *result_); }));
    } catch (const Napi::Error& e) {
      reject(e);
    }
  }
  void OnError(const Napi::Error&) override {
    if (settled_) settled_();
    try {
      deferred_.Reject(makeError(Env(), code_, operation_ + ": " + message_, cause_).Value());
    } catch (const Napi::Error&) {
      // JS can no longer run (worker.terminate(), process exit): nobody can await the promise.
    }
  }

 private:
  PromiseWorker(Napi::Env env, std::string operation, Work work, Finish finish, Settled settled)
      : Napi::AsyncWorker(env, "bilevel.promiseWorker"),
        deferred_(Napi::Promise::Deferred::New(env)),
        operation_(std::move(operation)),
        work_(std::move(work)),
        finish_(std::move(finish)),
        settled_(std::move(settled)) {}

  void fail(const std::string& code, const std::string& message, const std::string& cause) {
    code_ = code;
    message_ = message;
    cause_ = cause;
    SetError(message);
  }
  void reject(const Napi::Error& error) {
    try {
      deferred_.Reject(error.Value());
    } catch (const Napi::Error&) {
    }
  }

  Napi::Promise::Deferred deferred_;
  std::string operation_;
  Work work_;
  Finish finish_;
  Settled settled_;
  std::optional<Result> result_;
  std::string code_, message_, cause_;
};

}  // namespace bilevel::binding

#include "binding/problem_wrap.h"

#include <cmath>
#include <map>

#include "binding/convert.h"
#include "binding/errors.h"
#include "binding/instance_data.h"
#include "binding/js_options.h"
#include "binding/promise_worker.h"
#include "binding/register.h"
#include "binding/solver_config.h"
#include "binding/tensor_wrap.h"
#include "core/dynamics.h"

namespace bilevel::binding {
namespace {


// The optional JS callbacks of a problem defined in TypeScript.
struct JsCallbacks {
  Napi::FunctionReference upper;
  Napi::FunctionReference lower;
  Napi::FunctionReference upperGradient;  // grad_y F; empty: autograd
  Napi::FunctionReference lowerGradient;  // grad_y f; empty: autograd
};

// F and f (and optionally their y-gradients) call back into JS on the main thread. The tensors
// handed to a callback, and those it returns, are released right after it returns: they live
// for that call only.
class JsProblem : public core::Problem {
 public:
  JsProblem(core::Variables upper, core::Variables lower, JsCallbacks callbacks)
      : Problem(std::move(upper), std::move(lower)), js_(std::move(callbacks)) {}

  bool anyThread() const override { return false; }

  // The batch is always empty: a problem defined in TypeScript has no sampler.
  core::TensorList lowerGradient(const core::TensorList& x, const core::TensorList& y, const core::Batch& batch,
                                 bool createGraph) override {
    if (js_.lowerGradient.IsEmpty()) return Problem::lowerGradient(x, y, batch, createGraph);
    return givenGradient(js_.lowerGradient, "lowerGradient", x, y, createGraph);
  }
  core::TensorList upperGradient(const core::TensorList& x, const core::TensorList& y, const core::Batch& batch,
                                 bool createGraph) override {
    if (js_.upperGradient.IsEmpty()) return Problem::upperGradient(x, y, batch, createGraph);
    return givenGradient(js_.upperGradient, "upperGradient", x, y, createGraph);
  }

 protected:
  torch::Tensor evaluateUpper(const core::TensorList& x, const core::TensorList& y, const core::Batch&) override {
    return call(js_.upper, x, y).at(0);
  }
  torch::Tensor evaluateLower(const core::TensorList& x, const core::TensorList& y, const core::Batch&) override {
    return call(js_.lower, x, y).at(0);
  }

 private:
  // Calls fn(x, y); the result is one tensor or an array of tensors.
  static core::TensorList call(const Napi::FunctionReference& fn, const core::TensorList& x, const core::TensorList& y) {
    const Napi::Env env = fn.Env();
    Napi::HandleScope scope(env);
    const Napi::Array xs = TensorWrap::wrapList(env, x);
    const Napi::Array ys = TensorWrap::wrapList(env, y);
    const Napi::Value result = fn.Call({xs, ys});
    core::TensorList values;
    if (result.IsArray()) {
      const Napi::Array list = result.As<Napi::Array>();
      for (uint32_t i = 0; i < list.Length(); ++i) values.push_back(TensorWrap::unwrap(list.Get(i)));
      for (uint32_t i = 0; i < list.Length(); ++i) TensorWrap::releaseValue(list.Get(i));
    } else {
      values.push_back(TensorWrap::unwrap(result));
      TensorWrap::releaseValue(result);
    }
    for (uint32_t i = 0; i < xs.Length(); ++i) TensorWrap::releaseValue(xs.Get(i));
    for (uint32_t i = 0; i < ys.Length(); ++i) TensorWrap::releaseValue(ys.Get(i));
    return values;
  }

  // A user-supplied grad_y, checked against y's shapes; without createGraph it is history-free.
  core::TensorList givenGradient(const Napi::FunctionReference& fn, const char* name, const core::TensorList& x,
                                 const core::TensorList& y, bool createGraph) {
    core::TensorList grads;
    if (createGraph) {
      grads = call(fn, x, y);
    } else {
      torch::NoGradGuard noGrad;
      grads = core::detached(call(fn, core::detached(x), core::detached(y)));
    }
    if (grads.size() != y.size()) {
      throw CodedError("SHAPE_MISMATCH", std::string(name) + " returned " + std::to_string(grads.size()) +
                                             " tensors for " + std::to_string(y.size()) + " LL variables");
    }
    for (size_t i = 0; i < y.size(); ++i) {
      if (grads[i].sizes() != y[i].sizes()) {
        throw CodedError("SHAPE_MISMATCH", std::string(name) + "[" + std::to_string(i) + "] has shape " +
                                               shapeString(grads[i]) + ", y[" + std::to_string(i) + "] is " +
                                               shapeString(y[i]));
      }
    }
    return grads;
  }

  JsCallbacks js_;
};

std::vector<core::Box> parseSets(const Napi::Value& value, size_t count, const std::string& path) {
  if (value.IsUndefined() || value.IsNull()) return {};
  if (!value.IsArray()) return std::vector<core::Box>(count, parseBox(value, path));
  const Napi::Array arr = value.As<Napi::Array>();
  if (arr.Length() != count) {
    throw CodedError("INVALID_ARGUMENT", path + ": " + std::to_string(arr.Length()) + " sets for " +
                                             std::to_string(count) + " variables");
  }
  std::vector<core::Box> sets;
  for (uint32_t i = 0; i < count; ++i) sets.push_back(parseBox(arr.Get(i), path + "[" + std::to_string(i) + "]"));
  return sets;
}

core::Variables parseVariables(const Napi::Object& def, const char* key, const char* setsKey) {
  const core::TensorList initial = core::cloned(TensorWrap::unwrapList(def.Get(key), key));
  return core::Variables{initial, parseSets(def.Get(setsKey), initial.size(), setsKey)};
}

// createProblem({x, y, xSets?, ySets?, upper, lower, upperGradient?, lowerGradient?})
Napi::Value createProblem(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "createProblem", [&] {
    if (!info[0].IsObject()) throw CodedError("INVALID_ARGUMENT", "definition must be an object");
    const Napi::Object def = info[0].As<Napi::Object>();
    if (!def.Get("upper").IsFunction() || !def.Get("lower").IsFunction()) {
      throw CodedError("INVALID_ARGUMENT", "upper and lower must be functions (x, y) => scalar tensor");
    }
    auto optional = [&](const char* key) {
      const Napi::Value v = def.Get(key);
      if (v.IsUndefined() || v.IsNull()) return Napi::FunctionReference();
      if (!v.IsFunction()) throw CodedError("INVALID_ARGUMENT", std::string(key) + " must be a function (x, y) => Tensor[]");
      return Napi::Persistent(v.As<Napi::Function>());
    };
    JsCallbacks callbacks{Napi::Persistent(def.Get("upper").As<Napi::Function>()),
                          Napi::Persistent(def.Get("lower").As<Napi::Function>()), optional("upperGradient"),
                          optional("lowerGradient")};
    auto problem = std::make_shared<JsProblem>(parseVariables(def, "x", "xSets"), parseVariables(def, "y", "ySets"),
                                               std::move(callbacks));
    return Napi::Value(ProblemWrap::wrap(info.Env(), problem));
  });
}

}  // namespace

Napi::Function ProblemWrap::define(Napi::Env env) {
  Napi::Function cls = DefineClass(env, "NativeProblem", {InstanceMethod<&ProblemWrap::variables>("variables"),
                                                          InstanceMethod<&ProblemWrap::metrics>("metrics"),
                                                          InstanceMethod<&ProblemWrap::views>("views"),
                                                          InstanceMethod<&ProblemWrap::data>("data"),
                                                          InstanceMethod<&ProblemWrap::pretrain>("pretrain"),
                                                          InstanceMethod<&ProblemWrap::bytes>("bytes"),
                                                          InstanceMethod<&ProblemWrap::dispose>("dispose")});
  instanceData(env).problemClass = Napi::Persistent(cls);
  return cls;
}

Napi::Object ProblemWrap::wrap(Napi::Env env, std::shared_ptr<core::Problem> problem) {
  return instanceData(env).problemClass.New({Napi::External<std::shared_ptr<core::Problem>>::New(env, &problem)});
}

std::shared_ptr<core::Problem> ProblemWrap::unwrap(const Napi::Value& value) {
  if (!value.IsObject() || !value.As<Napi::Object>().InstanceOf(instanceData(value.Env()).problemClass.Value())) {
    throw CodedError("INVALID_ARGUMENT", "expected a problem");
  }
  const ProblemWrap* wrap = Unwrap(value.As<Napi::Object>());
  wrap->live();
  return wrap->problem_;
}

ProblemWrap::ProblemWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ProblemWrap>(info), memory_(info.Env()) {
  if (!info[0].IsExternal()) {
    throw Napi::TypeError::New(info.Env(), "NativeProblem is created by createProblem or createTask");
  }
  problem_ = *info[0].As<Napi::External<std::shared_ptr<core::Problem>>>().Data();
  // The datasets a task holds (hundreds of MB) count towards V8's GC decisions.
  memory_.report(problem_->bytes());
}

ProblemWrap::~ProblemWrap() { release(); }

void ProblemWrap::release() {
  memory_.release();
  problem_.reset();
}

core::Problem& ProblemWrap::live() const {
  if (!problem_) throw CodedError("DISPOSED", "problem was disposed");
  return *problem_;
}

// bytes() -> the tensor memory the problem holds (0 once disposed).
Napi::Value ProblemWrap::bytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(memory_.bytes()));
}

// Frees this handle's share of the problem now; solvers started from it keep theirs.
Napi::Value ProblemWrap::dispose(const Napi::CallbackInfo& info) {
  release();
  return info.Env().Undefined();
}

// The starting values: {x: NativeTensor[], y: NativeTensor[]} (copies).
Napi::Value ProblemWrap::variables(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "variables", [&] {
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("x", TensorWrap::wrapList(info.Env(), core::cloned(live().upperVariables().initial)));
    out.Set("y", TensorWrap::wrapList(info.Env(), core::cloned(live().lowerVariables().initial)));
    return Napi::Value(out);
  });
}

// metrics(x, y, settings?) -> Promise<{name: value}>: the task's metrics (empty for problems without
// any), on a worker thread (a test set can take a while); task metrics never call back into JS.
// settings: numbers by name that change how the task measures (few-shot: episodes, adaptSteps, adaptLr).
Napi::Value ProblemWrap::metrics(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "metrics", [&] {
    using Metrics = std::vector<std::pair<std::string, double>>;
    live();
    // Copies, so that JS may change or free its tensors meanwhile.
    // x is empty for a training task (nas-retrain); the problem checks it against its own.
    const core::TensorList x = core::cloned(TensorWrap::unwrapList(info[0], "x", /*mayBeEmpty=*/true));
    const core::TensorList y = core::cloned(TensorWrap::unwrapList(info[1], "y"));
    std::map<std::string, double> numbers;
    if (!info[2].IsUndefined()) {
      const JsOptions settings(info[2], "metrics");
      for (const std::string& key : settings.keys()) numbers[key] = settings.number(key);
    }
    return Napi::Value(PromiseWorker<Metrics>::start(
        info.Env(), "metrics",
        [problem = problem_, x, y, settings = core::NumberSettings(std::move(numbers), "metrics")] {
          return problem->metrics(x, y, settings);
        },
        [](Napi::Env env, Metrics& metrics) {
          Napi::Object out = Napi::Object::New(env);
          for (const auto& [name, value] : metrics) out.Set(name, value);
          return Napi::Value(out);
        }));
  });
}

// views(x, y) -> {name: NativeTensor}: tensors that show the solution (the GAN's samples), {} for most.
Napi::Value ProblemWrap::views(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "views", [&] {
    Napi::Object out = Napi::Object::New(info.Env());
    for (const auto& [name, tensor] : live().views(TensorWrap::unwrapList(info[0], "x", true), TensorWrap::unwrapList(info[1], "y"))) {
      out.Set(name, TensorWrap::wrap(info.Env(), tensor.clone()));
    }
    return Napi::Value(out);
  });
}

// data() -> {name: NativeTensor}: the task's data (copies), {} for toy problems.
Napi::Value ProblemWrap::data(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "data", [&] {
    Napi::Object out = Napi::Object::New(info.Env());
    for (const auto& [name, tensor] : live().data()) out.Set(name, TensorWrap::wrap(info.Env(), tensor.clone()));
    return Napi::Value(out);
  });
}

// pretrain(steps, lr) -> Promise<y>: y after `steps` gd steps on f at the starting x (the prior's
// anchor), on a worker thread; objectives written in JS run here, where they can be called.
Napi::Value ProblemWrap::pretrain(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "pretrain", [&] {
    const int64_t steps = toNonNegativeInt64(info[0], "steps");
    const double lr = info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : 0;
    if (!(std::isfinite(lr) && lr > 0)) throw CodedError("INVALID_ARGUMENT", "lr: must be a finite number > 0");
    auto descend = [problem = problem_, steps, lr] {
      return core::descend(*problem, problem->upperVariables().initial, problem->lowerVariables().initial, steps, lr);
    };
    auto wrap = [](Napi::Env env, core::TensorList& last) { return Napi::Value(TensorWrap::wrapList(env, last)); };
    if (live().anyThread()) return Napi::Value(PromiseWorker<core::TensorList>::start(info.Env(), "pretrain", descend, wrap));
    core::TensorList last = descend();
    const Napi::Promise::Deferred done = Napi::Promise::Deferred::New(info.Env());
    done.Resolve(wrap(info.Env(), last));
    return Napi::Value(done.Promise());
  });
}

void registerProblems(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeProblem", ProblemWrap::define(env));
  exports.Set("createProblem", Napi::Function::New<createProblem>(env, "createProblem"));
}

}  // namespace bilevel::binding

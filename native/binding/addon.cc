// Module entry: factories, autograd and library-wide settings.
#include <napi.h>
#include <torch/torch.h>

#include "binding/convert.h"
#include "binding/errors.h"
#include "binding/instance_data.h"
#include "binding/register.h"
#include "binding/tensor_wrap.h"
#include "core/cpu_allocator.h"

namespace bilevel::binding {
namespace {

Napi::Value setErrorClassJs(const Napi::CallbackInfo& info) {
  if (!info[0].IsFunction()) throw Napi::TypeError::New(info.Env(), "setErrorClass expects a constructor");
  setErrorClass(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

// fromData(data: TypedArray, shape: number[], device?: string)
Napi::Value fromData(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "fromData", [&] {
    if (!info[0].IsTypedArray()) throw CodedError("INVALID_ARGUMENT", "data must be a TypedArray");
    torch::Tensor t = fromTypedArray(info[0].As<Napi::TypedArray>(), toInt64Vector(info[1], "shape"));
    return Napi::Value(TensorWrap::wrap(info.Env(), t.to(parseDevice(info[2]))));
  });
}

// full(shape, value, dtype, device)
Napi::Value full(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "full", [&] {
    auto options = torch::TensorOptions().dtype(parseDtype(info[2])).device(parseDevice(info[3]));
    torch::Tensor t = torch::full(toInt64Vector(info[0], "shape"), info[1].ToNumber().DoubleValue(), options);
    return Napi::Value(TensorWrap::wrap(info.Env(), t));
  });
}

// grad(outputs, inputs, createGraph, retainGraph, allowUnused) -> (NativeTensor | null)[]
Napi::Value grad(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "grad", [&] {
    auto outputs = TensorWrap::unwrapList(info[0], "outputs");
    auto inputs = TensorWrap::unwrapList(info[1], "inputs");
    const bool createGraph = info[2].ToBoolean().Value();
    const bool retainGraph = info[3].IsBoolean() ? info[3].ToBoolean().Value() : createGraph;
    const bool allowUnused = info[4].ToBoolean().Value();
    for (const auto& in : inputs) {
      if (!in.requires_grad()) throw CodedError("INVALID_ARGUMENT", "every input must require grad");
    }
    for (const auto& out : outputs) {
      if (out.numel() != 1) throw CodedError("SHAPE_MISMATCH", "outputs must be scalars, got " + shapeString(out));
    }
    auto grads = torch::autograd::grad(outputs, inputs, {}, retainGraph, createGraph, allowUnused);
    Napi::Array result = Napi::Array::New(info.Env(), grads.size());
    for (size_t i = 0; i < grads.size(); ++i) {
      result.Set(i, grads[i].defined() ? Napi::Value(TensorWrap::wrap(info.Env(), grads[i])) : info.Env().Null());
    }
    return Napi::Value(result);
  });
}

Napi::Value setGradEnabled(const Napi::CallbackInfo& info) {
  const bool previous = torch::GradMode::is_enabled();
  torch::GradMode::set_enabled(info[0].ToBoolean().Value());
  return Napi::Boolean::New(info.Env(), previous);
}

Napi::Value manualSeed(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "manualSeed", [&] {
    torch::manual_seed(static_cast<uint64_t>(info[0].ToNumber().Int64Value()));
    return info.Env().Undefined();
  });
}

Napi::Value setNumThreads(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "setNumThreads", [&] {
    const double n = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : 0;
    if (n < 1 || n != static_cast<int>(n)) throw CodedError("INVALID_ARGUMENT", "threads must be a positive integer");
    torch::set_num_threads(static_cast<int>(n));
    return info.Env().Undefined();
  });
}

// "OpenMP", "native thread pool", ...: the "ATen parallel backend" line of at::get_parallel_info().
std::string parallelBackend() {
  const std::string info = at::get_parallel_info();
  const std::string key = "ATen parallel backend: ";
  const size_t at = info.find(key);
  if (at == std::string::npos) return "unknown";
  const size_t start = at + key.size();
  return info.substr(start, info.find('\n', start) - start);
}

Napi::Value versions(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("libtorch", Napi::String::New(env, TORCH_VERSION));
  out.Set("cuda", Napi::Boolean::New(env, torch::cuda::is_available()));
  out.Set("napi", Napi::Number::New(env, NAPI_VERSION));
  out.Set("threads", Napi::Number::New(env, torch::get_num_threads()));
  // How the addon was built, for bug reports.
  Napi::Object build = Napi::Object::New(env);
  build.Set("compiler", Napi::String::New(env, __VERSION__));
  build.Set("cxx", Napi::Number::New(env, static_cast<double>(__cplusplus)));
#ifdef NDEBUG
  build.Set("type", Napi::String::New(env, "release"));
#else
  build.Set("type", Napi::String::New(env, "debug"));
#endif
  build.Set("cxx11Abi", Napi::Boolean::New(env, _GLIBCXX_USE_CXX11_ABI != 0));
  build.Set("parallel", Napi::String::New(env, parallelBackend()));
  out.Set("build", build);
  return out;
}

// cachedMemory() -> bytes the CPU block cache holds for reuse.
Napi::Value cachedMemory(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(core::cachedCpuBytes()));
}

Napi::Value releaseCachedMemory(const Napi::CallbackInfo& info) {
  core::releaseCachedCpuMemory();
  return info.Env().Undefined();
}

}  // namespace

Napi::Object init(Napi::Env env, Napi::Object exports) {
  createInstanceData(env);
  core::installCachingCpuAllocator();
  exports.Set("NativeTensor", TensorWrap::define(env));
  exports.Set("disposedTensor", TensorWrap::wrap(env, torch::Tensor()));
  exports.Set("setErrorClass", Napi::Function::New<setErrorClassJs>(env, "setErrorClass"));
  exports.Set("fromData", Napi::Function::New<fromData>(env, "fromData"));
  exports.Set("full", Napi::Function::New<full>(env, "full"));
  exports.Set("grad", Napi::Function::New<grad>(env, "grad"));
  exports.Set("setGradEnabled", Napi::Function::New<setGradEnabled>(env, "setGradEnabled"));
  exports.Set("manualSeed", Napi::Function::New<manualSeed>(env, "manualSeed"));
  exports.Set("versions", Napi::Function::New<versions>(env, "versions"));
  exports.Set("setNumThreads", Napi::Function::New<setNumThreads>(env, "setNumThreads"));
  exports.Set("cachedMemory", Napi::Function::New<cachedMemory>(env, "cachedMemory"));
  exports.Set("releaseCachedMemory", Napi::Function::New<releaseCachedMemory>(env, "releaseCachedMemory"));
  registerArchitectures(env, exports);
  registerFactories(env, exports);
  registerFunctional(env, exports);
  registerProblems(env, exports);
  registerProcessGroups(env, exports);
  registerSolvers(env, exports);
  registerTasks(env, exports);
  return exports;
}

}  // namespace bilevel::binding

static Napi::Object initBilevel(Napi::Env env, Napi::Object exports) { return bilevel::binding::init(env, exports); }

NODE_API_MODULE(bilevel, initBilevel)

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "binding/convert.h"
#include "binding/errors.h"
#include "binding/register.h"
#include "binding/tensor_wrap.h"

namespace bilevel::binding {
namespace {

torch::TensorOptions optionsFrom(const Napi::Value& dtype, const Napi::Value& device) {
  return torch::TensorOptions().dtype(parseDtype(dtype)).device(parseDevice(device));
}

double finiteNumber(const Napi::Value& v, const char* field) {
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!std::isfinite(d)) throw CodedError("INVALID_ARGUMENT", std::string(field) + " must be a finite number");
  return d;
}

// eye(n, dtype, device)
Napi::Value eye(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "eye", [&] {
    return Napi::Value(TensorWrap::wrap(info.Env(), torch::eye(toNonNegativeInt64(info[0], "n"), optionsFrom(info[1], info[2]))));
  });
}

// arange(start, end, step, dtype, device)
Napi::Value arange(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "arange", [&] {
    const double step = finiteNumber(info[2], "step");
    if (step == 0) throw CodedError("INVALID_ARGUMENT", "step must not be 0");
    return Napi::Value(TensorWrap::wrap(
        info.Env(), torch::arange(finiteNumber(info[0], "start"), finiteNumber(info[1], "end"), step, optionsFrom(info[3], info[4]))));
  });
}

// linspace(start, end, steps, dtype, device)
Napi::Value linspace(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "linspace", [&] {
    const int64_t steps = toNonNegativeInt64(info[2], "steps");
    return Napi::Value(TensorWrap::wrap(
        info.Env(), torch::linspace(finiteNumber(info[0], "start"), finiteNumber(info[1], "end"), steps, optionsFrom(info[3], info[4]))));
  });
}

// createGenerator(seed) -> an opaque CPU generator; numbers are drawn on the CPU so one seed
// gives the same values on every device.
Napi::Value createGenerator(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "Generator", [&] {
    const auto seed = static_cast<uint64_t>(toNonNegativeInt64(info[0], "seed"));
    auto* gen = new at::Generator(at::make_generator<at::CPUGeneratorImpl>(seed));
    return Napi::Value(Napi::External<at::Generator>::New(info.Env(), gen, [](Napi::Env, at::Generator* g) { delete g; }));
  });
}

// random(kind: 'rand'|'randn'|'randint', shape, generator | null, dtype, device, low, high)
Napi::Value random(const Napi::CallbackInfo& info) {
  const std::string kind = info[0].ToString();
  return guarded(info.Env(), kind.c_str(), [&] {
    const auto shape = toInt64Vector(info[1], "shape");
    c10::optional<at::Generator> gen;
    if (info[2].IsExternal()) gen = *info[2].As<Napi::External<at::Generator>>().Data();
    const auto cpu = torch::TensorOptions().dtype(parseDtype(info[3]));
    const auto device = parseDevice(info[4]);
    torch::Tensor t;
    if (kind == "rand") t = torch::rand(shape, gen, cpu);
    else if (kind == "randn") t = torch::randn(shape, gen, cpu);
    else if (kind == "randint") t = torch::randint(toInt64(info[5], "low"), toInt64(info[6], "high"), shape, gen, cpu);
    else throw CodedError("INVALID_ARGUMENT", "unknown random kind");
    return Napi::Value(TensorWrap::wrap(info.Env(), t.to(device)));
  });
}

}  // namespace

void registerFactories(Napi::Env env, Napi::Object exports) {
  exports.Set("eye", Napi::Function::New<eye>(env, "eye"));
  exports.Set("arange", Napi::Function::New<arange>(env, "arange"));
  exports.Set("linspace", Napi::Function::New<linspace>(env, "linspace"));
  exports.Set("createGenerator", Napi::Function::New<createGenerator>(env, "createGenerator"));
  exports.Set("random", Napi::Function::New<random>(env, "random"));
}

}  // namespace bilevel::binding

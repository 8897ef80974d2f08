#include "binding/convert.h"

#include <cmath>
#include <cstring>
#include <sstream>

#include "binding/errors.h"

namespace bilevel::binding {

Napi::Array toJsShape(Napi::Env env, torch::IntArrayRef sizes) {
  Napi::Array out = Napi::Array::New(env, sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) out.Set(i, Napi::Number::New(env, static_cast<double>(sizes[i])));
  return out;
}

int64_t toInt64(const Napi::Value& value, const std::string& field) {
  // The range test comes before the cast: casting NaN or a double beyond int64 is undefined behaviour.
  constexpr double kTwoTo63 = 9223372036854775808.0;
  const double d = value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : 0.5;
  if (!(d >= -kTwoTo63 && d < kTwoTo63) || d != std::trunc(d)) {
    throw CodedError("INVALID_ARGUMENT", field + " must be an integer from -2^63 to 2^63 - 1");
  }
  return static_cast<int64_t>(d);
}

int64_t toNonNegativeInt64(const Napi::Value& value, const std::string& field) {
  const int64_t n = toInt64(value, field);
  if (n < 0) throw CodedError("INVALID_ARGUMENT", field + " must be >= 0, got " + std::to_string(n));
  return n;
}

std::vector<int64_t> toInt64Vector(const Napi::Value& value, const char* field) {
  if (!value.IsArray()) throw CodedError("INVALID_ARGUMENT", std::string(field) + " must be an array of integers");
  Napi::Array arr = value.As<Napi::Array>();
  std::vector<int64_t> out(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) out[i] = toInt64(arr.Get(i), std::string(field) + "[" + std::to_string(i) + "]");
  return out;
}

std::string dtypeName(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat32: return "float32";
    case torch::kFloat64: return "float64";
    case torch::kInt64: return "int64";
    case torch::kBool: return "bool";
    default: return c10::toString(type);
  }
}

torch::ScalarType parseDtype(const Napi::Value& value) {
  const std::string name = value.IsString() ? value.As<Napi::String>().Utf8Value() : "";
  if (name == "float32") return torch::kFloat32;
  if (name == "float64") return torch::kFloat64;
  if (name == "int64") return torch::kInt64;
  if (name == "bool") return torch::kBool;
  throw CodedError("DTYPE", "unknown dtype '" + name + "' (expected float32, float64, int64 or bool)");
}

torch::Device parseDevice(const Napi::Value& value) {
  const std::string name = value.IsString() ? value.As<Napi::String>().Utf8Value() : "cpu";
  if (name == "cpu") return torch::Device(torch::kCPU);
  if (name.rfind("cuda", 0) != 0) throw CodedError("DEVICE", "unknown device '" + name + "' (expected cpu, cuda or cuda:N)");
  if (!torch::cuda::is_available()) {
    throw CodedError("DEVICE", "device '" + name + "' requested but this LibTorch has no CUDA support or no GPU is visible");
  }
  torch::Device device(name);
  if (device.has_index() && device.index() >= static_cast<int64_t>(torch::cuda::device_count())) {
    throw CodedError("DEVICE", "device '" + name + "' does not exist (" + std::to_string(torch::cuda::device_count()) + " visible)");
  }
  return device;
}

std::string shapeString(const torch::Tensor& t) {
  std::ostringstream s;
  s << dtypeName(t.scalar_type()) << "[";
  for (int64_t i = 0; i < t.dim(); ++i) s << (i ? "," : "") << t.size(i);
  s << "]";
  return s.str();
}

std::string firstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

Napi::Value toTypedArray(Napi::Env env, const torch::Tensor& t) {
  torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
  const size_t n = static_cast<size_t>(c.numel());
  switch (c.scalar_type()) {
    case torch::kFloat32: {
      auto out = Napi::Float32Array::New(env, n);
      std::memcpy(out.Data(), c.data_ptr(), n * sizeof(float));
      return out;
    }
    case torch::kFloat64: {
      auto out = Napi::Float64Array::New(env, n);
      std::memcpy(out.Data(), c.data_ptr(), n * sizeof(double));
      return out;
    }
    case torch::kInt64: {
      auto out = Napi::BigInt64Array::New(env, n);
      std::memcpy(out.Data(), c.data_ptr(), n * sizeof(int64_t));
      return out;
    }
    case torch::kBool: {
      auto out = Napi::Uint8Array::New(env, n);
      std::memcpy(out.Data(), c.data_ptr(), n);
      return out;
    }
    default:
      throw CodedError("DTYPE", "cannot read dtype " + dtypeName(c.scalar_type()));
  }
}

torch::Tensor fromTypedArray(const Napi::TypedArray& data, std::vector<int64_t> shape) {
  // The C call, because Napi::TypedArray::ArrayBuffer() refuses a SharedArrayBuffer; `bytes`
  // already points at the first element.
  napi_typedarray_type kind;
  size_t length = 0;
  void* bytes = nullptr;
  napi_value buffer;
  size_t byteOffset = 0;
  if (napi_get_typedarray_info(data.Env(), data, &kind, &length, &bytes, &buffer, &byteOffset) != napi_ok) {
    throw CodedError("INVALID_ARGUMENT", "data: cannot read the TypedArray");
  }
  torch::ScalarType type;
  switch (kind) {
    case napi_float32_array: type = torch::kFloat32; break;
    case napi_float64_array: type = torch::kFloat64; break;
    case napi_bigint64_array: type = torch::kInt64; break;
    case napi_uint8_array: type = torch::kBool; break;
    default: throw CodedError("DTYPE", "data must be a Float32Array, Float64Array, BigInt64Array or Uint8Array");
  }
  int64_t numel = 1;
  for (int64_t d : shape) {
    if (d < 0) throw CodedError("SHAPE_MISMATCH", "shape has a negative dimension");
    // A wrapped product could match the data's length and let from_blob read far past it.
    if (__builtin_mul_overflow(numel, d, &numel)) throw CodedError("SHAPE_MISMATCH", "shape holds more elements than int64 counts");
  }
  if (numel != static_cast<int64_t>(length)) {
    throw CodedError("SHAPE_MISMATCH", "shape holds " + std::to_string(numel) + " elements but data has " + std::to_string(length));
  }
  const auto options = torch::TensorOptions().dtype(type);
  // A detached buffer has no data pointer; an empty tensor needs none.
  if (numel == 0) return torch::empty(shape, options);
  return torch::from_blob(bytes, shape, options).clone();
}

}  // namespace bilevel::binding

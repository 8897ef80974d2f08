#include "binding/tensor_wrap.h"

#include <cmath>

#include "binding/convert.h"
#include "binding/errors.h"
#include "binding/instance_data.h"

namespace bilevel::binding {
namespace {

int64_t bytesOf(const torch::Tensor& t) { return t.defined() ? t.numel() * t.element_size() : 0; }

using Binary = torch::Tensor (*)(const torch::Tensor&, const torch::Tensor&);
const std::unordered_map<std::string, Binary>& binaryOps() {
  static const std::unordered_map<std::string, Binary> ops = {
      {"add", [](const torch::Tensor& a, const torch::Tensor& b) { return a + b; }},
      {"sub", [](const torch::Tensor& a, const torch::Tensor& b) { return a - b; }},
      {"mul", [](const torch::Tensor& a, const torch::Tensor& b) { return a * b; }},
      {"div", [](const torch::Tensor& a, const torch::Tensor& b) { return a / b; }},
      {"pow", [](const torch::Tensor& a, const torch::Tensor& b) { return a.pow(b); }},
      {"matmul", [](const torch::Tensor& a, const torch::Tensor& b) { return a.matmul(b); }},
      {"maximum", [](const torch::Tensor& a, const torch::Tensor& b) { return torch::maximum(a, b); }},
      {"minimum", [](const torch::Tensor& a, const torch::Tensor& b) { return torch::minimum(a, b); }},
      {"eq", [](const torch::Tensor& a, const torch::Tensor& b) { return a.eq(b); }},
      {"ne", [](const torch::Tensor& a, const torch::Tensor& b) { return a.ne(b); }},
      {"lt", [](const torch::Tensor& a, const torch::Tensor& b) { return a.lt(b); }},
      {"le", [](const torch::Tensor& a, const torch::Tensor& b) { return a.le(b); }},
      {"gt", [](const torch::Tensor& a, const torch::Tensor& b) { return a.gt(b); }},
      {"ge", [](const torch::Tensor& a, const torch::Tensor& b) { return a.ge(b); }},
  };
  return ops;
}

// With a number operand: Scalar overloads, so pow(2) takes the square kernel and no 0-dim
// tensor is allocated per call.
using ScalarBinary = torch::Tensor (*)(const torch::Tensor&, const torch::Scalar&);
const std::unordered_map<std::string, ScalarBinary>& scalarOps() {
  static const std::unordered_map<std::string, ScalarBinary> ops = {
      {"add", [](const torch::Tensor& a, const torch::Scalar& b) { return a.add(b); }},
      {"sub", [](const torch::Tensor& a, const torch::Scalar& b) { return a.sub(b); }},
      {"mul", [](const torch::Tensor& a, const torch::Scalar& b) { return a.mul(b); }},
      {"div", [](const torch::Tensor& a, const torch::Scalar& b) { return a.div(b); }},
      {"pow", [](const torch::Tensor& a, const torch::Scalar& b) { return a.pow(b); }},
      {"eq", [](const torch::Tensor& a, const torch::Scalar& b) { return a.eq(b); }},
      {"ne", [](const torch::Tensor& a, const torch::Scalar& b) { return a.ne(b); }},
      {"lt", [](const torch::Tensor& a, const torch::Scalar& b) { return a.lt(b); }},
      {"le", [](const torch::Tensor& a, const torch::Scalar& b) { return a.le(b); }},
      {"gt", [](const torch::Tensor& a, const torch::Scalar& b) { return a.gt(b); }},
      {"ge", [](const torch::Tensor& a, const torch::Scalar& b) { return a.ge(b); }},
  };
  return ops;
}

using Unary = torch::Tensor (*)(const torch::Tensor&);
const std::unordered_map<std::string, Unary>& unaryOps() {
  static const std::unordered_map<std::string, Unary> ops = {
      {"neg", [](const torch::Tensor& a) { return -a; }},
      {"exp", [](const torch::Tensor& a) { return a.exp(); }},
      {"log", [](const torch::Tensor& a) { return a.log(); }},
      {"sqrt", [](const torch::Tensor& a) { return a.sqrt(); }},
      {"sin", [](const torch::Tensor& a) { return a.sin(); }},
      {"cos", [](const torch::Tensor& a) { return a.cos(); }},
      {"tanh", [](const torch::Tensor& a) { return a.tanh(); }},
      {"sigmoid", [](const torch::Tensor& a) { return a.sigmoid(); }},
      {"relu", [](const torch::Tensor& a) { return a.relu(); }},
      {"abs", [](const torch::Tensor& a) { return a.abs(); }},
      {"clone", [](const torch::Tensor& a) { return a.clone(); }},
  };
  return ops;
}

// A JS number as torch reads a Python one: integral values are integer scalars (int64 + 1 stays
// int64, exact beyond float32's 2^24), others floating scalars (int64 + 1.5 computes in floating point).
// -0 stays floating: x / -0 is -inf.
torch::Scalar scalarOf(double value) {
  constexpr double kTwoTo63 = 9223372036854775808.0;
  const bool negativeZero = value == 0 && std::signbit(value);
  const bool integral = !negativeZero && value == std::trunc(value) && value >= -kTwoTo63 && value < kTwoTo63;
  return integral ? torch::Scalar(static_cast<int64_t>(value)) : torch::Scalar(value);
}

// A number operand as a wrapped-number tensor, so type promotion treats it as a scalar. (A tensor
// of the other operand's dtype would turn 1.5 into 1 for an int64 tensor.)
torch::Tensor wrappedNumber(double value, const torch::Device& device) {
  const torch::Scalar scalar = scalarOf(value);
  torch::Tensor t = torch::scalar_tensor(scalar, torch::TensorOptions().dtype(scalar.type()).device(device));
  t.unsafeGetTensorImpl()->set_wrapped_number(true);
  return t;
}

// In place, the result keeps t's dtype: refuse what would silently truncate (1.5 into int64, float
// into bool) rather than leave it to the kernel, which truncates or fails with its own message.
void requireInPlaceResult(const torch::Tensor& t, torch::ScalarType result, const std::string& op, const std::string& operand) {
  if (at::can_cast(result, t.scalar_type())) return;
  throw CodedError("DTYPE", shapeString(t) + " cannot hold the " + dtypeName(result) + " result of " + op + " with " + operand);
}

// Re-raises a torch error with both operands' shapes in the message.
[[noreturn]] void rethrowWithShapes(const std::exception& e, const torch::Tensor& a, const torch::Tensor& b) {
  const std::string message = torchMessage(e);
  throw CodedError(classifyException(e), shapeString(a) + " and " + shapeString(b) + ": " + firstLine(message),
                   message);
}

template <typename Table>
const typename Table::mapped_type& lookup(const Table& table, const std::string& name) {
  auto it = table.find(name);
  if (it == table.end()) throw CodedError("INVALID_ARGUMENT", "unknown operation '" + name + "'");
  return it->second;
}
}  // namespace

// The tensor the next constructor call takes; set only by wrap(), on the JS thread.
thread_local torch::Tensor* pendingTensor = nullptr;

Napi::Function TensorWrap::define(Napi::Env env) {
  Napi::Function cls = DefineClass(env, "NativeTensor", {
      InstanceMethod<&TensorWrap::shape>("shape"),
      InstanceMethod<&TensorWrap::dtype>("dtype"),
      InstanceMethod<&TensorWrap::device>("device"),
      InstanceMethod<&TensorWrap::requiresGrad>("requiresGrad"),
      InstanceMethod<&TensorWrap::setRequiresGrad>("setRequiresGrad"),
      InstanceMethod<&TensorWrap::toArray>("toArray"),
      InstanceMethod<&TensorWrap::item>("item"),
      InstanceMethod<&TensorWrap::binary>("binary"),
      InstanceMethod<&TensorWrap::unary>("unary"),
      InstanceMethod<&TensorWrap::reduce>("reduce"),
      InstanceMethod<&TensorWrap::detach>("detach"),
      InstanceMethod<&TensorWrap::reshape>("reshape"),
      InstanceMethod<&TensorWrap::clamp>("clamp"),
      InstanceMethod<&TensorWrap::norm>("norm"),
      InstanceMethod<&TensorWrap::to>("to"),
      InstanceMethod<&TensorWrap::inplace>("inplace"),
      InstanceMethod<&TensorWrap::dispose>("dispose"),
      InstanceMethod<&TensorWrap::isDisposed>("isDisposed"),
  });
  instanceData(env).tensorClass = Napi::Persistent(cls);
  return cls;
}

TensorWrap::TensorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorWrap>(info), memory_(info.Env()) {
  if (pendingTensor == nullptr) {
    throw makeError(info.Env(), "INVALID_ARGUMENT", "NativeTensor cannot be constructed from JS; use the factories", "");
  }
  tensor_ = std::move(*pendingTensor);
  pendingTensor = nullptr;
  memory_.report(bytesOf(tensor_));
}

TensorWrap::~TensorWrap() { release(); }

void TensorWrap::release() {
  memory_.release();
  tensor_ = torch::Tensor();
}

Napi::Object TensorWrap::wrap(Napi::Env env, torch::Tensor tensor) {
  // Handing the tensor over through a slot instead of an External saves a JS allocation per result.
  pendingTensor = &tensor;
  Napi::Object object = instanceData(env).tensorClass.New({});
  pendingTensor = nullptr;
  return object;
}

namespace {
bool isNativeTensor(const Napi::Value& value) {
  return value.IsObject() && value.As<Napi::Object>().InstanceOf(instanceData(value.Env()).tensorClass.Value());
}

// The wrap behind a NativeTensor, or nullptr once dispose() has unwrapped it.
TensorWrap* wrapOf(const Napi::Value& value) {
  void* wrap = nullptr;
  return napi_unwrap(value.Env(), value, &wrap) == napi_ok ? static_cast<TensorWrap*>(wrap) : nullptr;
}
}  // namespace

const torch::Tensor& TensorWrap::unwrap(const Napi::Value& value) {
  if (!isNativeTensor(value)) throw CodedError("INVALID_ARGUMENT", "expected a Tensor");
  TensorWrap* wrap = wrapOf(value);
  if (wrap == nullptr) throw CodedError("DISPOSED", "tensor was disposed");
  return wrap->live();
}

std::vector<torch::Tensor> TensorWrap::unwrapList(const Napi::Value& value, const char* field, bool mayBeEmpty) {
  if (!value.IsArray()) throw CodedError("INVALID_ARGUMENT", std::string(field) + " must be an array of tensors");
  Napi::Array arr = value.As<Napi::Array>();
  if (arr.Length() == 0 && !mayBeEmpty) throw CodedError("INVALID_ARGUMENT", std::string(field) + " must not be empty");
  std::vector<torch::Tensor> out;
  out.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) out.push_back(unwrap(arr.Get(i)));
  return out;
}

Napi::Array TensorWrap::wrapList(Napi::Env env, const std::vector<torch::Tensor>& tensors) {
  Napi::Array arr = Napi::Array::New(env, tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) arr.Set(i, wrap(env, tensors[i]));
  return arr;
}

void TensorWrap::releaseValue(const Napi::Value& value) {
  if (!isNativeTensor(value)) return;
  if (TensorWrap* wrap = wrapOf(value)) wrap->release();
}

const torch::Tensor& TensorWrap::live() const {
  if (!tensor_.defined()) throw CodedError("DISPOSED", "tensor was disposed");
  return tensor_;
}

Napi::Value TensorWrap::shape(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "shape", [&] { return toJsShape(info.Env(), live().sizes()); });
}
Napi::Value TensorWrap::dtype(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "dtype", [&] { return Napi::String::New(info.Env(), dtypeName(live().scalar_type())); });
}
Napi::Value TensorWrap::device(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "device", [&] { return Napi::String::New(info.Env(), live().device().str()); });
}
Napi::Value TensorWrap::requiresGrad(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "requiresGrad", [&] { return Napi::Boolean::New(info.Env(), live().requires_grad()); });
}
Napi::Value TensorWrap::setRequiresGrad(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "requiresGrad_", [&] {
    live().requires_grad_(info[0].ToBoolean().Value());
    return info.Env().Undefined();
  });
}
Napi::Value TensorWrap::toArray(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "toArray", [&] { return toTypedArray(info.Env(), live()); });
}
Napi::Value TensorWrap::item(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "item", [&] {
    const auto& t = live();
    if (t.numel() != 1) throw CodedError("SHAPE_MISMATCH", "item() needs exactly one element, got shape " + shapeString(t));
    if (t.scalar_type() == torch::kBool) return Napi::Value(Napi::Boolean::New(info.Env(), t.item<bool>()));
    return Napi::Value(Napi::Number::New(info.Env(), t.item<double>()));
  });
}

// binary(name, other: NativeTensor | number)
Napi::Value TensorWrap::binary(const Napi::CallbackInfo& info) {
  const std::string name = info[0].ToString();
  return guarded(info.Env(), name.c_str(), [&] {
    Binary op = lookup(binaryOps(), name);
    const auto& a = live();
    if (info[1].IsNumber()) {
      const double value = info[1].As<Napi::Number>().DoubleValue();
      const auto scalarOp = scalarOps().find(name);
      if (scalarOp != scalarOps().end()) return Napi::Value(wrap(info.Env(), scalarOp->second(a, scalarOf(value))));
      return Napi::Value(wrap(info.Env(), op(a, wrappedNumber(value, a.device()))));
    }
    const auto& b = unwrap(info[1]);
    try {
      return Napi::Value(wrap(info.Env(), op(a, b)));
    } catch (const std::exception& e) {
      rethrowWithShapes(e, a, b);
    }
  });
}

Napi::Value TensorWrap::unary(const Napi::CallbackInfo& info) {
  const std::string name = info[0].ToString();
  return guarded(info.Env(), name.c_str(), [&] { return Napi::Value(wrap(info.Env(), lookup(unaryOps(), name)(live()))); });
}

// reduce(name: 'sum'|'mean', dims?: number[], keepdim?: boolean)
Napi::Value TensorWrap::reduce(const Napi::CallbackInfo& info) {
  const std::string name = info[0].ToString();
  return guarded(info.Env(), name.c_str(), [&] {
    const auto& t = live();
    const bool keepdim = info.Length() > 2 && info[2].ToBoolean().Value();
    const bool all = info.Length() < 2 || info[1].IsUndefined() || info[1].IsNull();
    std::vector<int64_t> dims = all ? std::vector<int64_t>{} : toInt64Vector(info[1], "dims");
    if (name == "sum") return Napi::Value(wrap(info.Env(), all ? t.sum() : t.sum(dims, keepdim)));
    if (name == "mean") return Napi::Value(wrap(info.Env(), all ? t.mean() : t.mean(dims, keepdim)));
    throw CodedError("INVALID_ARGUMENT", "unknown reduction '" + name + "'");
  });
}

Napi::Value TensorWrap::detach(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "detach", [&] { return Napi::Value(wrap(info.Env(), live().detach())); });
}

// reshape(op: 'reshape'|'permute'|'transpose'|'squeeze'|'unsqueeze', ints)
Napi::Value TensorWrap::reshape(const Napi::CallbackInfo& info) {
  const std::string name = info[0].ToString();
  return guarded(info.Env(), name.c_str(), [&] {
    const auto& t = live();
    const std::vector<int64_t> ints = toInt64Vector(info[1], "dims");
    auto need = [&](size_t n) {
      if (ints.size() != n) throw CodedError("INVALID_ARGUMENT", "expects " + std::to_string(n) + " dims");
    };
    torch::Tensor out;
    try {
      if (name == "reshape") out = t.reshape(ints);
      else if (name == "permute") out = t.permute(ints);
      else if (name == "transpose") { need(2); out = t.transpose(ints[0], ints[1]); }
      else if (name == "squeeze") out = ints.empty() ? t.squeeze() : (need(1), t.squeeze(ints[0]));
      else if (name == "unsqueeze") { need(1); out = t.unsqueeze(ints[0]); }
      else throw CodedError("INVALID_ARGUMENT", "unknown shape operation");
    } catch (const CodedError&) {
      throw;
    } catch (const std::exception& e) {
      throw CodedError("SHAPE_MISMATCH", shapeString(t) + ": " + firstLine(torchMessage(e)), torchMessage(e));
    }
    return Napi::Value(wrap(info.Env(), out));
  });
}

// clamp(min: number | null, max: number | null, inPlace: boolean)
Napi::Value TensorWrap::clamp(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "clamp", [&] {
    auto bound = [&](const Napi::Value& v, const char* field) -> c10::optional<torch::Scalar> {
      if (v.IsNull() || v.IsUndefined()) return c10::nullopt;
      if (!v.IsNumber() || std::isnan(v.As<Napi::Number>().DoubleValue())) {
        throw CodedError("INVALID_ARGUMENT", std::string(field) + " must be a number or null");
      }
      return scalarOf(v.As<Napi::Number>().DoubleValue());
    };
    auto lo = bound(info[0], "min");
    auto hi = bound(info[1], "max");
    if (!lo && !hi) throw CodedError("INVALID_ARGUMENT", "needs min or max");
    if (info[2].ToBoolean().Value()) {
      for (const auto& b : {lo, hi}) {
        if (b) requireInPlaceResult(live(), at::result_type(live(), *b), "clamp_", "a number");
      }
      live().clamp_(lo, hi);
      return Napi::Value(info.This());
    }
    return Napi::Value(wrap(info.Env(), live().clamp(lo, hi)));
  });
}

// norm(p: number, dims: number[] | null, keepdim: boolean)
Napi::Value TensorWrap::norm(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "norm", [&] {
    const auto& t = live();
    if (!info[0].IsNumber()) throw CodedError("INVALID_ARGUMENT", "p must be a number");
    const double p = info[0].As<Napi::Number>().DoubleValue();
    if (!info[1].IsNull() && !info[1].IsArray()) throw CodedError("INVALID_ARGUMENT", "dims must be an array of integers or null");
    if (info[1].IsArray()) {
      return Napi::Value(wrap(info.Env(), t.norm(p, toInt64Vector(info[1], "dims"), info[2].ToBoolean().Value())));
    }
    return Napi::Value(wrap(info.Env(), t.norm(p)));
  });
}

// to(dtype: string | null, device: string | null)
Napi::Value TensorWrap::to(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "to", [&] {
    const auto& t = live();
    torch::Tensor out = t;
    if (info[1].IsString()) out = out.to(parseDevice(info[1]));
    if (info[0].IsString()) out = out.to(parseDtype(info[0]));
    return Napi::Value(wrap(info.Env(), out));
  });
}

// inplace(op: 'add_'|'sub_'|'mul_'|'copy_', other: NativeTensor | number) -> this
Napi::Value TensorWrap::inplace(const Napi::CallbackInfo& info) {
  const std::string name = info[0].ToString();
  return guarded(info.Env(), name.c_str(), [&] {
    auto& t = const_cast<torch::Tensor&>(live());
    const torch::Tensor other = info[1].IsNumber() ? wrappedNumber(info[1].As<Napi::Number>().DoubleValue(), t.device())
                                                   : unwrap(info[1]);
    requireInPlaceResult(t, name == "copy_" ? other.scalar_type() : at::result_type(t, other), name,
                         info[1].IsNumber() ? "a number" : shapeString(other));
    try {
      if (name == "add_") t.add_(other);
      else if (name == "sub_") t.sub_(other);
      else if (name == "mul_") t.mul_(other);
      else if (name == "copy_") t.copy_(other);
      else throw CodedError("INVALID_ARGUMENT", "unknown in-place operation");
    } catch (const CodedError&) {
      throw;
    } catch (const std::exception& e) {
      rethrowWithShapes(e, t, other);
    }
    return Napi::Value(info.This());
  });
}

// Frees the tensor and unwraps the JS object, so the GC has no finalizer left to run for it (a
// measurable share of a small op's cost). The facade then holds the `disposedTensor` sentinel
// instead; a tensor released already (the sentinel among them) is left as it is.
Napi::Value TensorWrap::dispose(const Napi::CallbackInfo& info) {
  if (!tensor_.defined()) return info.Env().Undefined();
  release();
  napi_remove_wrap(info.Env(), info.This(), nullptr);
  delete this;
  return info.Env().Undefined();
}

Napi::Value TensorWrap::isDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !tensor_.defined());
}

}  // namespace bilevel::binding

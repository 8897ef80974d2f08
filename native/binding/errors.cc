#include "binding/errors.h"

#include <c10/util/Exception.h>

namespace bilevel::binding {
namespace {
Napi::FunctionReference errorClass;

bool contains(const std::string& s, const char* needle) { return s.find(needle) != std::string::npos; }
}  // namespace

void setErrorClass(const Napi::Function& cls) {
  errorClass = Napi::Persistent(cls);
  errorClass.SuppressDestruct();
}

std::string classifyTorchMessage(const std::string& m) {
  if (contains(m, "CUDA") || contains(m, "device")) return "DEVICE";
  if (contains(m, "scalar type") || contains(m, "dtype") || contains(m, "Expected object of scalar")) return "DTYPE";
  if (contains(m, "size") || contains(m, "shape") || contains(m, "dimension")) return "SHAPE_MISMATCH";
  return "NATIVE";
}

std::string torchMessage(const std::exception& e) {
  if (const auto* torchError = dynamic_cast<const c10::Error*>(&e)) return torchError->what_without_backtrace();
  std::string message = e.what();
  const size_t backtrace = message.find("\nException raised from");
  return backtrace == std::string::npos ? message : message.substr(0, backtrace);
}

Napi::Error makeError(Napi::Env env, const std::string& code, const std::string& message,
                      const std::string& cause) {
  if (errorClass.IsEmpty()) {
    auto err = Napi::Error::New(env, message);
    err.Set("code", Napi::String::New(env, code));
    return err;
  }
  Napi::Value causeValue = env.Undefined();
  if (!cause.empty()) causeValue = Napi::Error::New(env, cause).Value();
  Napi::Object obj = errorClass.New({Napi::String::New(env, code), Napi::String::New(env, message), causeValue});
  return Napi::Error(env, obj);
}

}  // namespace bilevel::binding

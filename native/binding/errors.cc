#include "binding/errors.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cctype>
#include <new>

#include "binding/instance_data.h"

namespace bilevel::binding {
namespace {

// Case-insensitive: torch spells the same failure "Dimension out of range" and "dimension ...".
bool contains(const std::string& s, const char* needle) {
  const std::string n(needle);
  return std::search(s.begin(), s.end(), n.begin(), n.end(),
                     [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b)); }) != s.end();
}
}  // namespace

void setErrorClass(const Napi::Function& cls) { instanceData(cls.Env()).errorClass = Napi::Persistent(cls); }

// By the message, for errors whose type says nothing more (c10::Error) or cannot be seen: some
// torch errors raised from inlined header code do not match c10's typeinfo here.
static std::string classifyTorchMessage(const std::string& m) {
  if (contains(m, "out of memory") || contains(m, "failed to allocate") || contains(m, "can't allocate memory")) return "OUT_OF_MEMORY";
  // An op without a kernel for a dtype says "not implemented for 'Half'", often naming the device too.
  if (contains(m, "not implemented for '") || contains(m, "scalar type") || contains(m, "dtype") || contains(m, "bool tensor")) {
    return "DTYPE";
  }
  if (contains(m, "CUDA") || contains(m, "device")) return "DEVICE";
  // Autograd misuse: a graph already freed, outputs that do not depend on inputs needing grad.
  if (contains(m, "backward through the graph a second time") || contains(m, "does not require grad")) return "INVALID_ARGUMENT";
  // An index outside a dimension ("index out of range in self", "out of bounds for dimension").
  if (contains(m, "size") || contains(m, "shape") || contains(m, "dimension") || contains(m, "broadcast") ||
      contains(m, "out of range") || contains(m, "out of bounds")) {
    return "SHAPE_MISMATCH";
  }
  return "NATIVE";
}

std::string classifyException(const std::exception& e) {
  if (dynamic_cast<const std::bad_alloc*>(&e) != nullptr || dynamic_cast<const c10::OutOfMemoryError*>(&e) != nullptr) {
    return "OUT_OF_MEMORY";
  }
  if (dynamic_cast<const c10::IndexError*>(&e) != nullptr) return "SHAPE_MISMATCH";
  if (dynamic_cast<const c10::TypeError*>(&e) != nullptr) return "DTYPE";
  if (dynamic_cast<const c10::ValueError*>(&e) != nullptr) return "INVALID_ARGUMENT";
  return classifyTorchMessage(torchMessage(e));
}

std::string torchMessage(const std::exception& e) {
  const auto* torchError = dynamic_cast<const c10::Error*>(&e);
  std::string message = torchError != nullptr ? torchError->what_without_backtrace() : e.what();
  const size_t backtrace = message.find("\nException raised from");
  if (backtrace != std::string::npos) message.resize(backtrace);
  // "[enforce fail at alloc_cpu.cpp:75] " locates LibTorch's own check, which tells users nothing.
  if (message.rfind("[enforce fail at ", 0) == 0) {
    const size_t end = message.find("] ");
    if (end != std::string::npos) message.erase(0, end + 2);
  }
  return message;
}

Napi::Error makeError(Napi::Env env, const std::string& code, const std::string& message,
                      const std::string& cause) {
  const Napi::FunctionReference& errorClass = instanceData(env).errorClass;
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

// Maps every C++ exception to a JS BilevelError so nothing escapes into N-API.
#pragma once
#include <napi.h>
#include <string>

#include "core/error.h"

namespace bilevel::binding {

// Thrown by the core and the glue when they know the code (disposed tensor, bad argument).
using CodedError = core::Error;

void setErrorClass(const Napi::Function& cls);
Napi::Error makeError(Napi::Env env, const std::string& code, const std::string& message,
                      const std::string& cause);
// The code of any exception but core::Error: by its type first (out of memory, c10's index,
// type and value errors), then by its message.
std::string classifyException(const std::exception& e);
// The message of a torch error without its C++ backtrace. Some torch errors raised from
// inlined header code do not match c10::Error's typeinfo here, so this takes any exception.
std::string torchMessage(const std::exception& e);

// Runs body, turning any exception into a thrown BilevelError that names the operation.
template <typename Body>
Napi::Value guarded(Napi::Env env, const char* op, Body&& body) {
  std::string code, message, cause;
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const CodedError& e) {
    code = e.code;
    cause = e.cause;
    message = std::string(op) + ": " + e.what();
  } catch (const std::exception& e) {
    cause = torchMessage(e);
    code = classifyException(e);
    message = std::string(op) + ": " + cause.substr(0, cause.find('\n'));
  } catch (...) {
    code = "NATIVE";
    message = std::string(op) + ": unknown native error";
  }
  throw makeError(env, code, message, cause);
}

}  // namespace bilevel::binding

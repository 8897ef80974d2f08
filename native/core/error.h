// The one error type of the core: a code the caller can act on and a message that names the field.
#pragma once
#include <stdexcept>
#include <string>

namespace bilevel::core {

// Codes: INVALID_ARGUMENT, SHAPE_MISMATCH, DTYPE, DEVICE, DISPOSED, NON_FINITE, IO, OUT_OF_MEMORY, DISTRIBUTED, NATIVE.
struct Error : std::runtime_error {
  Error(std::string code, const std::string& message, std::string cause = "")
      : std::runtime_error(message), code(std::move(code)), cause(std::move(cause)) {}
  std::string code;
  std::string cause;
};

}  // namespace bilevel::core

#include "core/option_reader.h"

#include <algorithm>

#include <c10/util/StringUtil.h>

namespace bilevel::core {

void refuseUnknown(const OptionSource& source, const std::vector<std::string>& known, const std::string& owner) {
  for (const std::string& key : source.keys()) {
    if (std::find(known.begin(), known.end(), key) != known.end() || !source.has(key)) continue;
    throw Error("INVALID_ARGUMENT", source.path(key) + ": unknown field (" + owner + " takes " + (known.empty() ? "none" : joinNames(known)) + ")");
  }
}

std::vector<std::string> NumberSettings::keys() const {
  std::vector<std::string> out;
  for (const auto& [key, value] : values_) out.push_back(key);
  return out;
}

void NumberSettings::refuseType(const std::string& key, const std::string& wanted) const {
  throw Error("INVALID_ARGUMENT", path(key) + " must be " + wanted + "; got a number");
}

namespace detail {

std::optional<double> numberOrDefault(const OptionSource& source, const char* name, const std::optional<double>& fallback,
                                      const Range& range, bool integer) {
  if (!source.has(name)) return fallback;
  const double value = source.number(name);
  if (!range.contains(value) || (integer && value != std::floor(value))) {
    throw Error("INVALID_ARGUMENT", source.path(name) + " must be " + describeRange(range, integer) + "; got " + c10::str(value));
  }
  return value;
}

std::string textOf(const OptionSource& source, const char* name, const std::vector<std::string>& choices) {
  const std::string value = source.text(name);
  if (choices.empty() && value.empty()) throw Error("INVALID_ARGUMENT", source.path(name) + " must not be empty");
  if (!choices.empty() && std::find(choices.begin(), choices.end(), value) == choices.end()) {
    throw Error("INVALID_ARGUMENT", source.path(name) + " must be one of " + joinNames(choices) + "; got '" + value + "'");
  }
  return value;
}

}  // namespace detail
}  // namespace bilevel::core

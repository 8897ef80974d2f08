// How ranges of declared option fields read in messages (core/option_fields.h).
#include "core/option_fields.h"

#include <c10/util/StringUtil.h>

#include <cmath>

namespace bilevel::core {

std::string formatNumber(double value) { return c10::str(value); }

std::string joinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

std::string describeRange(const Range& r, bool integer) {
  const std::string kind = integer ? "an integer" : "a number";
  if (!std::isinf(r.min) && !std::isinf(r.max)) {
    return kind + " in " + (r.minOpen ? "(" : "[") + formatNumber(r.min) + ", " + formatNumber(r.max) + (r.maxOpen ? ")" : "]");
  }
  if (!std::isinf(r.min)) return kind + (r.minOpen ? " > " : " >= ") + formatNumber(r.min);
  if (!std::isinf(r.max)) return kind + (r.maxOpen ? " < " : " <= ") + formatNumber(r.max);
  return kind;
}

}  // namespace bilevel::core

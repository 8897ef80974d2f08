// Options declared once on the C++ side: for each member of an extension axis (gd, bda, ...; sgd,
// adam, ...) and each task, the fields a config may give, each with its name as configs spell it,
// the member of the options struct it sets, its default and its range (or, for a text, the values
// allowed), and beside a member what it declares about itself to the other axes (its
// capabilities, from which the checks of a combination follow). One reader (core/option_reader.h)
// walks these declarations and refuses any other key; `describeOptions()` hands them to a test
// that compares them with the TypeScript schemas, so the two languages cannot drift apart.
#pragma once
#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "core/error.h"
#include "core/tensor_list.h"

namespace bilevel::core {

struct Range {
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool minOpen = false;  // (min, ...: min itself is refused
  bool maxOpen = false;
  bool contains(double value) const {
    return (minOpen ? value > min : value >= min) && (maxOpen ? value < max : value <= max);
  }
};

inline Range positive() { return {0, std::numeric_limits<double>::infinity(), true, false}; }
inline Range nonNegative() { return {0, std::numeric_limits<double>::infinity(), false, false}; }
inline Range unitInterval() { return {0, 1, false, true}; }  // [0, 1)
inline Range between(double min, double max) { return {min, max, false, false}; }

// "an integer in [1, 100000]", "a number > 0", ...: what a value in range is.
std::string describeRange(const Range& range, bool integer);
// A number as the messages about ranges print it (as a stream does: 0.1, 1e-08, 100000, inf).
std::string formatNumber(double value);
// "a, b, c": names as messages list them.
std::string joinNames(const std::vector<std::string>& names);

template <typename Options>
struct OptionField {
  const char* name;
  // int64_t fields are integers; optional ones have no default (absent: the member's own rule).
  // Texts, booleans and tensors take their default from the options struct itself.
  std::variant<double Options::*, int64_t Options::*, std::optional<double> Options::*, std::string Options::*,
               bool Options::*, TensorList Options::*>
      member;
  std::optional<double> defaultValue;
  Range range;
  std::vector<std::string> choices = {};  // a text's allowed values (empty: any non-empty text)
};

template <typename Options>
using OptionFields = std::vector<OptionField<Options>>;

// What each member of an axis declares about itself; an axis with capabilities specializes this
// beside its options struct (core/dynamics.h, core/hypergradient.h). Other axes declare none.
template <typename Options>
struct CapabilitiesOf {
  struct type {};
};

// One member of an axis: its name in configs, the kind it selects, its fields, its capabilities.
template <typename Options>
struct OptionMember {
  const char* name;
  typename Options::Kind kind;
  OptionFields<Options> fields;
  typename CapabilitiesOf<Options>::type capabilities{};
};

template <typename Options>
using OptionMembers = std::vector<OptionMember<Options>>;

// The member that selects kind (a kind no member selects, e.g. a cast integer, is refused).
template <typename Options>
const OptionMember<Options>& declaredMember(const OptionMembers<Options>& members, typename Options::Kind kind) {
  for (const auto& member : members) {
    if (member.kind == kind) return member;
  }
  throw Error("INVALID_ARGUMENT", "no member is declared for kind " + std::to_string(static_cast<int>(kind)));
}

// The names of the members whose capabilities satisfy `has`, as "a, b or c".
template <typename Options, typename Predicate>
std::string memberNames(const OptionMembers<Options>& members, Predicate has) {
  std::vector<std::string> names;
  for (const auto& member : members) {
    if (has(member.capabilities)) names.emplace_back(member.name);
  }
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  }
  return out;
}

// Refuses options whose declared fields lie outside their ranges or choices, naming the field as
// `owner.field`. The binding's reader checks each value as it reads it; this holds for options
// built in C++ as well.
template <typename Options>
void checkDeclared(const OptionFields<Options>& fields, const Options& options, const std::string& owner) {
  for (const auto& field : fields) {
    std::visit(
        [&](auto pointer) {
          using Value = std::decay_t<decltype(options.*pointer)>;
          const std::string name = owner + "." + field.name;
          if constexpr (std::is_same_v<Value, std::string>) {
            const std::string& text = options.*pointer;
            if (field.choices.empty() || std::find(field.choices.begin(), field.choices.end(), text) != field.choices.end()) return;
            throw Error("INVALID_ARGUMENT", name + " must be one of " + joinNames(field.choices) + "; got '" + text + "'");
          } else {
            std::optional<double> value;
            if constexpr (std::is_same_v<Value, std::optional<double>>) {
              value = options.*pointer;
            } else if constexpr (std::is_arithmetic_v<Value>) {
              value = static_cast<double>(options.*pointer);
            }  // tensors have no range
            if (!value || field.range.contains(*value)) return;
            throw Error("INVALID_ARGUMENT", name + " must be " + describeRange(field.range, std::is_same_v<Value, int64_t>) +
                                                "; got " + formatNumber(*value));
          }
        },
        field.member);
  }
}

// The fields with the numbers of `values` as their defaults: a reader then changes only what its
// source gives (settings that override a task's own, one call at a time).
template <typename Options>
OptionFields<Options> defaultingTo(OptionFields<Options> fields, const Options& values) {
  for (auto& field : fields) {
    std::visit(
        [&](auto pointer) {
          using Value = std::decay_t<decltype(values.*pointer)>;
          if constexpr (std::is_same_v<Value, double> || std::is_same_v<Value, int64_t>) {
            field.defaultValue = static_cast<double>(values.*pointer);
          }
        },
        field.member);
  }
  return fields;
}

// checkDeclared for a member of an extension axis, naming its fields `axis(member).field`.
template <typename Options>
void checkDeclaredRanges(const OptionMember<Options>& member, const Options& options, const std::string& axis) {
  checkDeclared(member.fields, options, axis + "(" + member.name + ")");
}

// The config name of kind in members.
template <typename Options>
const char* memberName(const OptionMembers<Options>& members, typename Options::Kind kind) {
  return declaredMember(members, kind).name;
}

// Limits shared with the TypeScript schemas (lib/config.ts LIMITS).
constexpr double kMaxLowerSteps = 100000;
constexpr double kMaxSolverIterations = 100000;
constexpr double kMaxUpperIterations = 1000000;
constexpr double kMaxToyDimension = 1000000;
constexpr double kMaxSamples = 1000000;
constexpr double kMaxHidden = 65536;
constexpr double kMaxSeed = 9007199254740991;  // 2^53 - 1: every seed a JavaScript number holds exactly

}  // namespace bilevel::core

// Options declared once on the C++ side: for each member of an extension axis (gd, bda, ...; sgd,
// adam, ...) and each task, the fields a config may give, each with its name as configs spell it,
// the member of the options struct it sets, its default and its range (or, for a text, the values
// allowed). One reader (core/option_reader.h) walks these declarations and refuses any other key;
// `describeOptions()` hands them to a test that compares them with the TypeScript schemas, so the
// two languages cannot drift apart.
#pragma once
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <variant>
#include <vector>

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

// One member of an axis: its name in configs, the kind it selects, its fields.
template <typename Options>
struct OptionMember {
  const char* name;
  typename Options::Kind kind;
  OptionFields<Options> fields;
};

template <typename Options>
using OptionMembers = std::vector<OptionMember<Options>>;

// The config name of kind in members ("?" for a kind not declared, which cannot happen).
template <typename Options>
const char* memberName(const OptionMembers<Options>& members, typename Options::Kind kind) {
  for (const auto& member : members) {
    if (member.kind == kind) return member.name;
  }
  return "?";
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

// The one reader of declared options (core/option_fields.h): it walks a declaration against a
// source of values (the binding's JavaScript object; a test's map), refuses keys the declaration
// does not hold, checks each value's type and range, and fills defaults. Messages name the field's
// path as the source spells it (e.g. "solver.dynamics.lr", "hyperCleaning.trainSize").
#pragma once
#include <cmath>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "core/option_fields.h"

namespace bilevel::core {

// Where option values come from. Each getter refuses (INVALID_ARGUMENT, naming path(key)) a value
// of another type.
class OptionSource {
 public:
  virtual ~OptionSource() = default;
  virtual bool has(const std::string& key) const = 0;  // given, and not null
  virtual std::vector<std::string> keys() const = 0;   // the keys given
  virtual double number(const std::string& key) const = 0;
  virtual std::string text(const std::string& key) const = 0;
  virtual bool boolean(const std::string& key) const = 0;
  virtual TensorList tensors(const std::string& key) const = 0;
  virtual std::string path(const std::string& key) const = 0;
};

// Numbers by name as a source: settings a caller hands a task for one call (few-shot evaluation),
// copied off JavaScript so that a worker thread can read them. Other types are refused.
class NumberSettings : public OptionSource {
 public:
  NumberSettings() = default;
  NumberSettings(std::map<std::string, double> values, std::string owner) : values_(std::move(values)), owner_(std::move(owner)) {}
  bool has(const std::string& key) const override { return values_.count(key) > 0; }
  std::vector<std::string> keys() const override;
  double number(const std::string& key) const override { return values_.at(key); }
  std::string text(const std::string& key) const override { refuseType(key, "a text"); }
  bool boolean(const std::string& key) const override { refuseType(key, "a boolean"); }
  TensorList tensors(const std::string& key) const override { refuseType(key, "tensors"); }
  std::string path(const std::string& key) const override { return owner_ + "." + key; }

 private:
  [[noreturn]] void refuseType(const std::string& key, const std::string& wanted) const;
  std::map<std::string, double> values_;
  std::string owner_;
};

// Refuses a key of source that is neither in known nor absent, naming what owner takes.
void refuseUnknown(const OptionSource& source, const std::vector<std::string>& known, const std::string& owner);

namespace detail {
std::optional<double> numberOrDefault(const OptionSource& source, const char* name, const std::optional<double>& fallback,
                                      const Range& range, bool integer);
std::string textOf(const OptionSource& source, const char* name, const std::vector<std::string>& choices);
}  // namespace detail

// Reads the declared fields into out; keys neither declared nor among `others` are refused.
template <typename Options>
void readDeclared(const OptionSource& source, const OptionFields<Options>& declared, Options& out, const std::string& owner,
                  const std::vector<std::string>& others = {}) {
  std::vector<std::string> known(others.begin(), others.end());
  for (const auto& field : declared) known.emplace_back(field.name);
  refuseUnknown(source, known, owner);
  for (const auto& field : declared) {
    std::visit(
        [&](auto member) {
          using Value = std::decay_t<decltype(out.*member)>;
          if constexpr (std::is_same_v<Value, std::string>) {
            if (source.has(field.name)) out.*member = detail::textOf(source, field.name, field.choices);
          } else if constexpr (std::is_same_v<Value, bool>) {
            if (source.has(field.name)) out.*member = source.boolean(field.name);
          } else if constexpr (std::is_same_v<Value, TensorList>) {
            if (source.has(field.name)) out.*member = source.tensors(field.name);
          } else {
            const std::optional<double> value =
                detail::numberOrDefault(source, field.name, field.defaultValue, field.range, std::is_same_v<Value, int64_t>);
            if constexpr (std::is_same_v<Value, std::optional<double>>) {
              out.*member = value;
            } else {
              if (!value) throw Error("INVALID_ARGUMENT", source.path(field.name) + " is required by " + owner);
              out.*member = static_cast<Value>(*value);
            }
          }
        },
        field.member);
  }
}

// One declared field as the describing side sees it, whatever its options struct.
struct FieldDescription {
  std::string name;
  std::string type;  // "number", "integer", "string", "boolean", "tensors"
  std::optional<double> defaultNumber;
  std::optional<std::string> defaultText;
  std::optional<bool> defaultBoolean;
  Range range;
  std::vector<std::string> choices;
};

template <typename Options>
std::vector<FieldDescription> describe(const OptionFields<Options>& fields) {
  const Options defaults{};
  std::vector<FieldDescription> out;
  for (const auto& field : fields) {
    FieldDescription d{field.name, "number", field.defaultValue, std::nullopt, std::nullopt, field.range, field.choices};
    std::visit(
        [&](auto member) {
          using Value = std::decay_t<decltype(defaults.*member)>;
          if constexpr (std::is_same_v<Value, int64_t>) d.type = "integer";
          if constexpr (std::is_same_v<Value, std::string>) {
            d.type = "string";
            if (!(defaults.*member).empty()) d.defaultText = defaults.*member;
          }
          if constexpr (std::is_same_v<Value, bool>) {
            d.type = "boolean";
            d.defaultBoolean = defaults.*member;
          }
          if constexpr (std::is_same_v<Value, TensorList>) d.type = "tensors";
        },
        field.member);
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace bilevel::core

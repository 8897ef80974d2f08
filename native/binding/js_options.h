// A JavaScript options object as a source of declared options (core/option_reader.h): the one
// way the binding reads configs (solver pieces, tasks), with errors that carry each field's path.
#pragma once
#include <napi.h>

#include <optional>
#include <string>
#include <vector>

#include "core/option_reader.h"

namespace bilevel::binding {

class JsOptions : public core::OptionSource {
 public:
  // Refuses (INVALID_ARGUMENT) a value that is not a plain object.
  JsOptions(const Napi::Value& value, std::string path);

  bool has(const std::string& key) const override;
  std::vector<std::string> keys() const override;
  double number(const std::string& key) const override;
  std::string text(const std::string& key) const override;
  bool boolean(const std::string& key) const override;
  core::TensorList tensors(const std::string& key) const override;
  std::string path(const std::string& key) const override { return path_ + "." + key; }

  Napi::Value get(const std::string& key) const { return object_.Get(key); }
  std::string text(const std::string& key, const std::string& fallback) const { return has(key) ? text(key) : fallback; }
  // An object field, or nullopt when absent or false.
  std::optional<JsOptions> object(const std::string& key) const;
  // The name f[key] gives (fallback when absent), which must be one of names.
  std::string choice(const std::string& key, const std::string& fallback, const std::vector<std::string>& names) const;

 private:
  Napi::Object object_;
  std::string path_;
};

// Declarations as JS, for the test that ties them to the TypeScript schemas: {name: {type,
// default?, minimum?, exclusiveMinimum?, maximum?, exclusiveMaximum?, enum?}}.
Napi::Object describeFields(Napi::Env env, const std::vector<core::FieldDescription>& fields);

}  // namespace bilevel::binding

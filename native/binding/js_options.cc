#include "binding/js_options.h"

#include <algorithm>
#include <cmath>

#include "binding/errors.h"
#include "binding/tensor_wrap.h"

namespace bilevel::binding {

JsOptions::JsOptions(const Napi::Value& value, std::string path) : path_(std::move(path)) {
  if (!value.IsObject() || value.IsArray()) throw CodedError("INVALID_ARGUMENT", path_ + " must be an object");
  object_ = value.As<Napi::Object>();
}

bool JsOptions::has(const std::string& key) const {
  const Napi::Value v = object_.Get(key);
  return !v.IsUndefined() && !v.IsNull();
}

std::vector<std::string> JsOptions::keys() const {
  const Napi::Array names = object_.GetPropertyNames();
  std::vector<std::string> out;
  for (uint32_t i = 0; i < names.Length(); ++i) out.push_back(names.Get(i).ToString().Utf8Value());
  return out;
}

double JsOptions::number(const std::string& key) const {
  const Napi::Value v = get(key);
  if (!v.IsNumber()) throw CodedError("INVALID_ARGUMENT", path(key) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

std::string JsOptions::text(const std::string& key) const {
  const Napi::Value v = get(key);
  if (!v.IsString()) throw CodedError("INVALID_ARGUMENT", path(key) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

bool JsOptions::boolean(const std::string& key) const {
  const Napi::Value v = get(key);
  if (!v.IsBoolean()) throw CodedError("INVALID_ARGUMENT", path(key) + " must be true or false");
  return v.As<Napi::Boolean>().Value();
}

core::TensorList JsOptions::tensors(const std::string& key) const { return TensorWrap::unwrapList(get(key), path(key).c_str()); }

std::optional<JsOptions> JsOptions::object(const std::string& key) const {
  if (!has(key) || (get(key).IsBoolean() && !get(key).As<Napi::Boolean>().Value())) return std::nullopt;
  return JsOptions(get(key), path(key));
}

std::string JsOptions::choice(const std::string& key, const std::string& fallback, const std::vector<std::string>& names) const {
  const std::string value = text(key, fallback);
  if (std::find(names.begin(), names.end(), value) != names.end()) return value;
  std::string allowed;
  for (const auto& name : names) allowed += (allowed.empty() ? "" : ", ") + name;
  throw CodedError("INVALID_ARGUMENT", path(key) + " must be one of " + allowed + "; got '" + value + "'");
}

Napi::Object describeFields(Napi::Env env, const std::vector<core::FieldDescription>& fields) {
  Napi::Object out = Napi::Object::New(env);
  for (const auto& field : fields) {
    Napi::Object d = Napi::Object::New(env);
    d.Set("type", field.type);
    if (field.defaultNumber) d.Set("default", *field.defaultNumber);
    if (field.defaultText) d.Set("default", *field.defaultText);
    if (field.defaultBoolean) d.Set("default", *field.defaultBoolean);
    if (!std::isinf(field.range.min)) d.Set(field.range.minOpen ? "exclusiveMinimum" : "minimum", field.range.min);
    if (!std::isinf(field.range.max)) d.Set(field.range.maxOpen ? "exclusiveMaximum" : "maximum", field.range.max);
    if (!field.choices.empty()) {
      Napi::Array choices = Napi::Array::New(env, field.choices.size());
      for (uint32_t i = 0; i < field.choices.size(); ++i) choices.Set(i, field.choices[i]);
      d.Set("enum", choices);
    }
    out.Set(field.name, d);
  }
  return out;
}

}  // namespace bilevel::binding

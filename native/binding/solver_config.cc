#include "binding/solver_config.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "binding/errors.h"
#include "binding/tensor_wrap.h"

namespace bilevel::binding {
namespace {

// Field access on a config object with errors that carry the field's path.
class Fields {
 public:
  Fields(const Napi::Value& value, std::string path) : path_(std::move(path)) {
    if (!value.IsObject() || value.IsArray()) throw CodedError("INVALID_ARGUMENT", path_ + " must be an object");
    object_ = value.As<Napi::Object>();
  }

  bool has(const char* key) const {
    const Napi::Value v = object_.Get(key);
    return !v.IsUndefined() && !v.IsNull();
  }
  Napi::Value get(const char* key) const { return object_.Get(key); }
  std::string path(const char* key) const { return path_ + "." + key; }
  // Refuses a key that is not in known, naming what owner takes.
  void refuseUnknown(const std::vector<std::string>& known, const std::string& owner) const {
    const Napi::Array names = object_.GetPropertyNames();
    for (uint32_t i = 0; i < names.Length(); ++i) {
      const std::string key = names.Get(i).ToString().Utf8Value();
      if (std::find(known.begin(), known.end(), key) != known.end() || !has(key.c_str())) continue;
      std::string takes;
      for (const auto& name : known) takes += (takes.empty() ? "" : ", ") + name;
      throw CodedError("INVALID_ARGUMENT", path(key.c_str()) + ": unknown field (" + owner + " takes " + takes + ")");
    }
  }

  double number(const char* key, double fallback) const {
    if (!has(key)) return fallback;
    const Napi::Value v = get(key);
    if (!v.IsNumber()) throw CodedError("INVALID_ARGUMENT", path(key) + " must be a number");
    return v.As<Napi::Number>().DoubleValue();
  }
  std::string string(const char* key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    const Napi::Value v = get(key);
    if (!v.IsString()) throw CodedError("INVALID_ARGUMENT", path(key) + " must be a string");
    return v.As<Napi::String>().Utf8Value();
  }
  // An object field, or nullopt when absent or false.
  std::optional<Fields> object(const char* key) const {
    if (!has(key) || (get(key).IsBoolean() && !get(key).As<Napi::Boolean>().Value())) return std::nullopt;
    return Fields(get(key), path(key));
  }

 private:
  Napi::Object object_;
  std::string path_;
};

template <typename Enum>
Enum choose(const Fields& f, const char* key, const std::string& fallback,
            std::initializer_list<std::pair<const char*, Enum>> names) {
  const std::string value = f.string(key, fallback);
  std::string allowed;
  for (const auto& [name, e] : names) {
    if (value == name) return e;
    allowed += (allowed.empty() ? "" : ", ") + std::string(name);
  }
  throw CodedError("INVALID_ARGUMENT", f.path(key) + " must be one of " + allowed + "; got '" + value + "'");
}

// The member of an axis that f[key] names (fallback when absent).
template <typename Options>
const core::OptionMember<Options>& chooseMember(const Fields& f, const char* key, const char* fallback,
                                                const core::OptionMembers<Options>& members) {
  const std::string value = f.string(key, fallback);
  std::string allowed;
  for (const auto& member : members) {
    if (value == member.name) return member;
    allowed += (allowed.empty() ? "" : ", ") + std::string(member.name);
  }
  throw CodedError("INVALID_ARGUMENT", f.path(key) + " must be one of " + allowed + "; got '" + value + "'");
}

// One declared field's value: given (checked against its range) or its default.
template <typename Options>
std::optional<double> declaredValue(const Fields& f, const core::OptionField<Options>& field, bool integer) {
  if (!f.has(field.name)) return field.defaultValue;
  const double value = f.number(field.name, 0);
  if (!field.range.contains(value) || (integer && value != std::floor(value))) {
    throw CodedError("INVALID_ARGUMENT", f.path(field.name) + " must be " + core::describeRange(field.range, integer) + "; got " +
                                             c10::str(value));
  }
  return value;
}

// Reads the declared fields into out; keys neither declared nor among `others` are refused.
template <typename Options>
void readDeclared(const Fields& f, const core::OptionFields<Options>& declared, Options& out, const std::string& owner,
                  const std::vector<const char*>& others) {
  std::vector<std::string> known(others.begin(), others.end());
  for (const auto& field : declared) known.emplace_back(field.name);
  f.refuseUnknown(known, owner);
  for (const auto& field : declared) {
    std::visit(
        [&](auto member) {
          using Value = std::decay_t<decltype(out.*member)>;
          const std::optional<double> value = declaredValue(f, field, std::is_same_v<Value, int64_t>);
          if constexpr (std::is_same_v<Value, std::optional<double>>) {
            out.*member = value;
          } else {
            if (!value) throw CodedError("INVALID_ARGUMENT", f.path(field.name) + " is required by " + owner);
            out.*member = static_cast<Value>(*value);
          }
        },
        field.member);
  }
}

// The member f[key] names, with its declared fields read.
template <typename Options>
Options parseMember(const Fields& f, const char* key, const char* fallback, const core::OptionMembers<Options>& members,
                    std::vector<const char*> others = {}) {
  const auto& member = chooseMember(f, key, fallback, members);
  Options o;
  o.kind = member.kind;
  others.push_back(key);
  readDeclared(f, member.fields, o, member.name, others);
  return o;
}

core::TensorList optionalTensors(const Fields& f, const char* key) {
  return f.has(key) ? TensorWrap::unwrapList(f.get(key), f.path(key).c_str()) : core::TensorList{};
}

core::Truncation parseTruncation(const Fields& f) {
  const Napi::Value v = f.get("truncation");
  if (v.IsObject()) {
    const Fields t(v, f.path("truncation"));
    t.refuseUnknown({"type", "recompute"}, "truncation");
    choose<bool>(t, "type", "pessimistic", {{"pessimistic", true}});
    const bool recompute = t.has("recompute") && t.get("recompute").ToBoolean().Value();
    return recompute ? core::Truncation::PessimisticRecompute : core::Truncation::Pessimistic;
  }
  return choose<core::Truncation>(f, "truncation", "none",
                                  {{"none", core::Truncation::None}, {"pessimistic", core::Truncation::Pessimistic}});
}

core::TrajectorySolverOptions parseTrajectory(const Fields& f) {
  core::TrajectorySolverOptions o;
  f.refuseUnknown({"type", "dynamics", "hypergradient", "upper", "initAuxiliary", "prior", "truncation", "lowerStart"}, "solver");
  if (auto d = f.object("dynamics")) o.dynamics = parseMember(*d, "type", "gd", core::dynamicsMembers());
  if (auto h = f.object("hypergradient")) o.hypergradient = parseMember(*h, "type", "reverse", core::hypergradientMembers());
  if (auto u = f.object("upper")) o.upper = parseMember(*u, "optimizer", "sgd", core::optimizerMembers());
  if (auto ia = f.object("initAuxiliary")) {
    core::InitAuxiliaryOptions aux{parseMember(*ia, "optimizer", "sgd", core::optimizerMembers(), {"set", "initial"}), {},
                                   optionalTensors(*ia, "initial")};
    if (ia->has("set")) aux.sets.assign(1, parseBox(ia->get("set"), ia->path("set")));
    o.initAuxiliary = aux;
  }
  if (auto p = f.object("prior")) {
    core::PriorOptions prior;
    readDeclared(*p, core::priorFields(), prior, "prior", {"anchor"});
    prior.anchor = optionalTensors(*p, "anchor");
    o.prior = prior;
  }
  o.truncation = parseTruncation(f);
  o.lowerStart = choose<core::LowerStart>(f, "lowerStart", "fixed",
                                          {{"fixed", core::LowerStart::Fixed}, {"warm", core::LowerStart::Warm}});
  return o;
}

core::BammOptions parseBamm(const Fields& f) {
  core::BammOptions o;
  readDeclared(f, core::bammFields(), o, "bamm", {"type"});
  return o;
}

torch::Tensor bound(const Napi::Value& v, const std::string& path) {
  if (v.IsUndefined() || v.IsNull()) return {};
  if (v.IsNumber()) return torch::scalar_tensor(v.As<Napi::Number>().DoubleValue(), torch::kFloat64);
  if (v.IsObject()) return TensorWrap::unwrap(v).detach();
  throw CodedError("INVALID_ARGUMENT", path + " must be a number or a tensor");
}

}  // namespace

core::Box parseBox(const Napi::Value& value, const std::string& path) {
  if (value.IsUndefined() || value.IsNull() || (value.IsBoolean() && !value.As<Napi::Boolean>().Value())) return {};
  const Fields f(value, path);
  core::Box box{bound(f.get("min"), f.path("min")), bound(f.get("max"), f.path("max"))};
  if (box.lower.defined() && box.upper.defined() && (box.lower > box.upper.to(box.lower.options())).any().item<bool>()) {
    throw CodedError("INVALID_ARGUMENT", path + ": min must not exceed max");
  }
  return box;
}

namespace {

template <typename Options>
Napi::Object describeFields(Napi::Env env, const core::OptionFields<Options>& fields) {
  Napi::Object out = Napi::Object::New(env);
  for (const auto& field : fields) {
    Napi::Object d = Napi::Object::New(env);
    d.Set("integer", std::holds_alternative<int64_t Options::*>(field.member));
    if (field.defaultValue) d.Set("default", *field.defaultValue);
    if (!std::isinf(field.range.min)) d.Set(field.range.minOpen ? "exclusiveMinimum" : "minimum", field.range.min);
    if (!std::isinf(field.range.max)) d.Set(field.range.maxOpen ? "exclusiveMaximum" : "maximum", field.range.max);
    out.Set(field.name, d);
  }
  return out;
}

template <typename Options>
Napi::Object describeMembers(Napi::Env env, const core::OptionMembers<Options>& members) {
  Napi::Object out = Napi::Object::New(env);
  for (const auto& member : members) out.Set(member.name, describeFields(env, member.fields));
  return out;
}

}  // namespace

Napi::Object describeOptions(Napi::Env env) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("dynamics", describeMembers(env, core::dynamicsMembers()));
  out.Set("hypergradient", describeMembers(env, core::hypergradientMembers()));
  out.Set("optimizer", describeMembers(env, core::optimizerMembers()));
  out.Set("prior", describeFields(env, core::priorFields()));
  out.Set("bamm", describeFields(env, core::bammFields()));
  return out;
}

SolverOptions parseSolverConfig(const Napi::Value& config) {
  const Fields f(config, "solver");
  if (f.string("type", "trajectory") == "bamm") return parseBamm(f);
  choose<bool>(f, "type", "trajectory", {{"trajectory", true}, {"bamm", false}});
  core::TrajectorySolverOptions o = parseTrajectory(f);
  core::checkOptions(o);
  return o;
}

}  // namespace bilevel::binding

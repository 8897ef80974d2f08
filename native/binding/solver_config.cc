#include "binding/solver_config.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "binding/errors.h"
#include "binding/js_options.h"
#include "binding/register.h"
#include "binding/tensor_wrap.h"

namespace bilevel::binding {
namespace {

using Fields = JsOptions;

template <typename Enum>
Enum choose(const Fields& f, const char* key, const std::string& fallback,
            std::initializer_list<std::pair<const char*, Enum>> names) {
  std::vector<std::string> allowed;
  for (const auto& entry : names) allowed.emplace_back(entry.first);
  const std::string value = f.choice(key, fallback, allowed);
  for (const auto& [name, e] : names) {
    if (value == name) return e;
  }
  throw CodedError("NATIVE", "unreachable: '" + value + "' was allowed");
}

// The member of an axis that f[key] names (fallback when absent).
template <typename Options>
const core::OptionMember<Options>& chooseMember(const Fields& f, const char* key, const char* fallback,
                                                const core::OptionMembers<Options>& members) {
  std::vector<std::string> allowed;
  for (const auto& member : members) allowed.emplace_back(member.name);
  const std::string value = f.choice(key, fallback, allowed);
  return *std::find_if(members.begin(), members.end(), [&](const auto& member) { return value == member.name; });
}

// The member f[key] names, with its declared fields read.
template <typename Options>
Options parseMember(const Fields& f, const char* key, const char* fallback, const core::OptionMembers<Options>& members,
                    std::vector<std::string> others = {}) {
  const auto& member = chooseMember(f, key, fallback, members);
  Options o;
  o.kind = member.kind;
  others.push_back(key);
  core::readDeclared(f, member.fields, o, member.name, others);
  return o;
}

core::TensorList optionalTensors(const Fields& f, const char* key) {
  return f.has(key) ? TensorWrap::unwrapList(f.get(key), f.path(key).c_str()) : core::TensorList{};
}

core::Truncation parseTruncation(const Fields& f) {
  const Napi::Value v = f.get("truncation");
  if (v.IsObject()) {
    const Fields t(v, f.path("truncation"));
    core::refuseUnknown(t, {"type", "recompute"}, "truncation");
    choose<bool>(t, "type", "pessimistic", {{"pessimistic", true}});
    const bool recompute = t.has("recompute") && t.get("recompute").ToBoolean().Value();
    return recompute ? core::Truncation::PessimisticRecompute : core::Truncation::Pessimistic;
  }
  return choose<core::Truncation>(f, "truncation", "none",
                                  {{"none", core::Truncation::None}, {"pessimistic", core::Truncation::Pessimistic}});
}

std::optional<core::CosineSchedule> parseSchedule(const Fields& f) {
  const auto s = f.object("lowerLrSchedule");
  if (!s) return std::nullopt;
  choose<bool>(*s, "type", "cosine", {{"cosine", true}});
  core::CosineSchedule schedule;
  core::readDeclared(*s, core::cosineScheduleFields(), schedule, "lowerLrSchedule", {"type"});
  return schedule;
}

core::TrajectorySolverOptions parseTrajectory(const Fields& f) {
  core::TrajectorySolverOptions o;
  core::refuseUnknown(f, {"type", "dynamics", "hypergradient", "upper", "initAuxiliary", "prior", "truncation", "lowerStart", "lowerLrSchedule"},
                      "solver");
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
    core::readDeclared(*p, core::priorFields(), prior, "prior", {"anchor"});
    prior.anchor = optionalTensors(*p, "anchor");
    o.prior = prior;
  }
  o.truncation = parseTruncation(f);
  o.lowerStart = choose<core::LowerStart>(f, "lowerStart", "fixed",
                                          {{"fixed", core::LowerStart::Fixed}, {"warm", core::LowerStart::Warm}});
  o.lowerLrSchedule = parseSchedule(f);
  return o;
}

core::TrainingOptions parseTraining(const Fields& f) {
  core::TrainingOptions o;
  core::refuseUnknown(f, {"type", "dynamics", "lowerLrSchedule"}, "solver");
  if (auto d = f.object("dynamics")) o.dynamics = parseMember(*d, "type", "gd", core::dynamicsMembers());
  o.lowerLrSchedule = parseSchedule(f);
  core::checkOptions(o);
  return o;
}

core::BammOptions parseBamm(const Fields& f) {
  core::BammOptions o;
  core::readDeclared(f, core::bammFields(), o, "bamm", {"type"});
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
Napi::Object describeMembers(Napi::Env env, const core::OptionMembers<Options>& members) {
  Napi::Object out = Napi::Object::New(env);
  for (const auto& member : members) out.Set(member.name, describeFields(env, core::describe(member.fields)));
  return out;
}

}  // namespace

Napi::Object describeOptions(Napi::Env env) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("dynamics", describeMembers(env, core::dynamicsMembers()));
  out.Set("hypergradient", describeMembers(env, core::hypergradientMembers()));
  out.Set("optimizer", describeMembers(env, core::optimizerMembers()));
  out.Set("prior", describeFields(env, core::describe(core::priorFields())));
  out.Set("bamm", describeFields(env, core::describe(core::bammFields())));
  out.Set("lowerLrSchedule", describeFields(env, core::describe(core::cosineScheduleFields())));
  out.Set("tasks", describeTasks(env));
  out.Set("metricSettings", describeMetricSettings(env));
  return out;
}

SolverOptions parseSolverConfig(const Napi::Value& config) {
  const Fields f(config, "solver");
  const std::string type = f.choice("type", "trajectory", {"trajectory", "bamm", "training"});
  if (type == "bamm") return parseBamm(f);
  if (type == "training") return parseTraining(f);
  core::TrajectorySolverOptions o = parseTrajectory(f);
  core::checkOptions(o);
  return o;
}

}  // namespace bilevel::binding

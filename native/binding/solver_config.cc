#include "binding/solver_config.h"

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

  double number(const char* key, double fallback) const {
    if (!has(key)) return fallback;
    const Napi::Value v = get(key);
    if (!v.IsNumber()) throw CodedError("INVALID_ARGUMENT", path(key) + " must be a number");
    return v.As<Napi::Number>().DoubleValue();
  }
  int64_t integer(const char* key, int64_t fallback) const {
    const double d = number(key, static_cast<double>(fallback));
    if (d != static_cast<double>(static_cast<int64_t>(d))) throw CodedError("INVALID_ARGUMENT", path(key) + " must be an integer");
    return static_cast<int64_t>(d);
  }
  std::string string(const char* key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    const Napi::Value v = get(key);
    if (!v.IsString()) throw CodedError("INVALID_ARGUMENT", path(key) + " must be a string");
    return v.As<Napi::String>().Utf8Value();
  }
  std::optional<double> optionalNumber(const char* key) const {
    return has(key) ? std::optional<double>(number(key, 0)) : std::nullopt;
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

core::DynamicsOptions parseDynamics(const Fields& f) {
  using K = core::DynamicsOptions::Kind;
  core::DynamicsOptions o;
  o.kind = choose<K>(f, "type", "gd", {{"gd", K::Gd}, {"bda", K::Bda}, {"nesterov", K::Nesterov}, {"accelerated", K::Accelerated}});
  o.steps = f.integer("steps", o.steps);
  o.lr = f.number("lr", o.lr);
  o.upperLr = f.number("upperLr", o.upperLr);
  o.mu = f.number("mu", o.mu);
  o.beta = f.number("beta", o.beta);
  o.lipschitz = f.number("lipschitz", o.lipschitz);
  return o;
}

core::HypergradientOptions parseHypergradient(const Fields& f) {
  using K = core::HypergradientOptions::Kind;
  core::HypergradientOptions o;
  o.kind = choose<K>(f, "type", "reverse",
                     {{"reverse", K::Reverse}, {"truncated", K::Truncated}, {"forward", K::Forward},
                      {"cg", K::ConjugateGradient}, {"neumann", K::Neumann},
                      {"finiteDifference", K::FiniteDifference}, {"firstOrder", K::FirstOrder}});
  o.truncate = f.integer("steps", o.truncate);
  o.iterations = f.integer("iterations", o.iterations);
  o.tolerance = f.number("tolerance", o.tolerance);
  o.damping = f.number("damping", o.damping);
  o.alpha = f.number("alpha", o.alpha);
  o.terms = f.integer("terms", o.terms);
  o.radius = f.number("radius", o.radius);
  return o;
}

core::OptimizerOptions parseOptimizer(const Fields& f) {
  using K = core::OptimizerOptions::Kind;
  core::OptimizerOptions o;
  o.kind = choose<K>(f, "optimizer", "sgd", {{"sgd", K::Sgd}, {"momentum", K::Momentum}, {"adam", K::Adam}});
  o.lr = f.number("lr", o.lr);
  o.momentum = f.number("momentum", o.momentum);
  o.beta1 = f.number("beta1", o.beta1);
  o.beta2 = f.number("beta2", o.beta2);
  o.eps = f.number("eps", o.eps);
  return o;
}

core::TensorList optionalTensors(const Fields& f, const char* key) {
  return f.has(key) ? TensorWrap::unwrapList(f.get(key), f.path(key).c_str()) : core::TensorList{};
}

core::Truncation parseTruncation(const Fields& f) {
  const Napi::Value v = f.get("truncation");
  if (v.IsObject()) {
    const Fields t(v, f.path("truncation"));
    choose<bool>(t, "type", "pessimistic", {{"pessimistic", true}});
    const bool recompute = t.has("recompute") && t.get("recompute").ToBoolean().Value();
    return recompute ? core::Truncation::PessimisticRecompute : core::Truncation::Pessimistic;
  }
  return choose<core::Truncation>(f, "truncation", "none",
                                  {{"none", core::Truncation::None}, {"pessimistic", core::Truncation::Pessimistic}});
}

core::TrajectorySolverOptions parseTrajectory(const Fields& f) {
  core::TrajectorySolverOptions o;
  if (auto d = f.object("dynamics")) o.dynamics = parseDynamics(*d);
  if (auto h = f.object("hypergradient")) o.hypergradient = parseHypergradient(*h);
  if (auto u = f.object("upper")) o.upper = parseOptimizer(*u);
  if (auto ia = f.object("initAuxiliary")) {
    core::InitAuxiliaryOptions aux{parseOptimizer(*ia), {}, optionalTensors(*ia, "initial")};
    if (ia->has("set")) aux.sets.assign(1, parseBox(ia->get("set"), ia->path("set")));
    o.initAuxiliary = aux;
  }
  if (auto p = f.object("prior")) {
    o.prior = core::PriorOptions{p->number("weight", 1.0), optionalTensors(*p, "anchor"), p->integer("iterations", 0)};
  }
  o.truncation = parseTruncation(f);
  o.lowerStart = choose<core::LowerStart>(f, "lowerStart", "fixed",
                                          {{"fixed", core::LowerStart::Fixed}, {"warm", core::LowerStart::Warm}});
  return o;
}

core::BammOptions parseBamm(const Fields& f) {
  core::BammOptions o;
  o.mu0 = f.number("mu0", o.mu0);
  o.p = f.number("p", o.p);
  o.tau = f.number("tau", o.tau);
  o.beta = f.number("beta", o.beta);
  o.mu = f.optionalNumber("mu");
  o.lr = f.optionalNumber("lr");
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

SolverOptions parseSolverConfig(const Napi::Value& config) {
  const Fields f(config, "solver");
  if (f.string("type", "trajectory") == "bamm") return parseBamm(f);
  choose<bool>(f, "type", "trajectory", {{"trajectory", true}, {"bamm", false}});
  core::TrajectorySolverOptions o = parseTrajectory(f);
  core::checkOptions(o);
  return o;
}

}  // namespace bilevel::binding

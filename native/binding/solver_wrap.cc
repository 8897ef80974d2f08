// The JS handle of a running core::Solver: step() runs one UL iteration on the calling thread.
#include <napi.h>

#include "binding/errors.h"
#include "binding/problem_wrap.h"
#include "binding/register.h"
#include "binding/solver_config.h"
#include "binding/tensor_wrap.h"

namespace bilevel::binding {
namespace {

Napi::FunctionReference constructor;

Napi::Object toJs(Napi::Env env, const core::IterationRecord& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("iteration", static_cast<double>(r.iteration));
  o.Set("upper", r.upper);
  o.Set("lower", r.lower);
  o.Set("steps", static_cast<double>(r.steps));
  o.Set("gradientNormX", r.gradientNormX);
  o.Set("gradientNormZ", r.gradientNormZ);
  o.Set("unrollMs", r.unrollMs);
  o.Set("hypergradientMs", r.hypergradientMs);
  o.Set("updateMs", r.updateMs);
  o.Set("peakBytes", static_cast<double>(r.peakBytes));
  return o;
}

class SolverWrap : public Napi::ObjectWrap<SolverWrap> {
 public:
  static Napi::Function define(Napi::Env env) {
    Napi::Function cls = DefineClass(env, "NativeSolver",
                                     {InstanceMethod<&SolverWrap::step>("step"),
                                      InstanceMethod<&SolverWrap::values>("values"),
                                      InstanceMethod<&SolverWrap::dispose>("dispose")});
    constructor = Napi::Persistent(cls);
    constructor.SuppressDestruct();
    return cls;
  }

  explicit SolverWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SolverWrap>(info) {
    if (!info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "NativeSolver is created by createSolver");
    solver_ = std::move(*info[0].As<Napi::External<std::unique_ptr<core::Solver>>>().Data());
  }

 private:
  core::Solver& live() {
    if (!solver_) throw CodedError("DISPOSED", "solver was disposed");
    return *solver_;
  }

  Napi::Value step(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), "step", [&] { return Napi::Value(toJs(info.Env(), live().step())); });
  }

  // {x, y, z}: copies of the current variables (z empty without IA).
  Napi::Value values(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), "values", [&] {
      core::Solver& s = live();
      Napi::Object out = Napi::Object::New(info.Env());
      out.Set("x", TensorWrap::wrapList(info.Env(), core::cloned(s.upperValues())));
      out.Set("y", TensorWrap::wrapList(info.Env(), core::cloned(s.lowerValues())));
      out.Set("z", TensorWrap::wrapList(info.Env(), core::cloned(s.auxiliaryValues())));
      return Napi::Value(out);
    });
  }

  Napi::Value dispose(const Napi::CallbackInfo& info) {
    solver_.reset();
    return info.Env().Undefined();
  }

  std::unique_ptr<core::Solver> solver_;
};

std::unique_ptr<core::Solver> makeSolver(const SolverOptions& options, std::shared_ptr<core::Problem> problem) {
  if (const auto* bamm = std::get_if<core::BammOptions>(&options)) return core::makeBammSolver(std::move(problem), *bamm);
  return core::makeTrajectorySolver(std::move(problem), std::get<core::TrajectorySolverOptions>(options));
}

// createSolver(config, problem) -> NativeSolver
Napi::Value createSolver(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "createSolver", [&] {
    std::unique_ptr<core::Solver> solver = makeSolver(parseSolverConfig(info[0]), ProblemWrap::unwrap(info[1]));
    return Napi::Value(constructor.New({Napi::External<std::unique_ptr<core::Solver>>::New(info.Env(), &solver)}));
  });
}

// checkSolverConfig(config): throws the reason a config is refused.
Napi::Value checkSolverConfig(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "checkSolverConfig", [&] {
    parseSolverConfig(info[0]);
    return info.Env().Undefined();
  });
}

}  // namespace

void registerSolvers(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeSolver", SolverWrap::define(env));
  exports.Set("createSolver", Napi::Function::New<createSolver>(env, "createSolver"));
  exports.Set("checkSolverConfig", Napi::Function::New<checkSolverConfig>(env, "checkSolverConfig"));
}

}  // namespace bilevel::binding

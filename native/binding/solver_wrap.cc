// The JS handle of a core::Solver: step() runs one UL iteration, on the compute thread for native
// problems and on the JS thread for objectives written in JS; run() runs many off the JS thread
// (native problems only), streaming records back; save() and load() run off the JS thread too.
#include <napi.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <vector>

#include "binding/compute_thread.h"
#include "binding/convert.h"
#include "binding/errors.h"
#include "binding/instance_data.h"
#include "binding/problem_wrap.h"
#include "binding/process_group_wrap.h"
#include "binding/promise_worker.h"
#include "binding/register.h"
#include "binding/solver_config.h"
#include "binding/tensor_wrap.h"
#include "core/distributed/rank_zero_start.h"
#include "core/distributed/sharded_problem.h"

namespace bilevel::binding {
namespace {


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

// The ranks a solver solves with. Before its first iteration each rank takes rank 0's start, on the
// compute thread, so no JS thread waits for the others.
struct Ranks {
  std::shared_ptr<const core::ProcessGroup> group;
  std::atomic<bool> started{false};

  // On the compute thread; once (later calls return at once).
  void start(core::Solver& solver) {
    if (started.load()) return;
    core::startFromRankZero(solver, *group);
    started.store(true);
  }
};

// What createSolver hands the new handle: the solver and the ranks it solves with, if any.
struct NewSolver {
  std::unique_ptr<core::Solver> solver;
  std::shared_ptr<Ranks> ranks;
};

// What a run shares between the JS thread and its worker.
struct RunState {
  std::atomic<bool> stop{false};
  bool running = false;  // a run, save or load in flight; JS thread only
};

// The runs in flight in each environment. When an environment ends its runs are asked to stop,
// so the exit waits for one UL iteration instead of the whole run: process.exit() joins libuv's
// thread pool before any environment cleanup hook runs, so the process 'exit' event is the signal
// there; the cleanup hook covers environments torn down without it (worker.terminate()).
class RunsInFlight {
 public:
  static RunsInFlight& instance() {
    static RunsInFlight* runs = new RunsInFlight();  // never destroyed: hooks may run at exit
    return *runs;
  }

  void add(napi_env env, const std::shared_ptr<RunState>& state) {
    std::lock_guard<std::mutex> lock(mutex_);
    runs_.push_back({env, state});
  }

  void remove(const std::shared_ptr<RunState>& state) {
    std::lock_guard<std::mutex> lock(mutex_);
    runs_.erase(std::remove_if(runs_.begin(), runs_.end(), [&](const Entry& e) { return e.state.lock() == state; }), runs_.end());
  }

  // napi_add_env_cleanup_hook's callback; the argument is the ending environment.
  static void stopAll(void* env) {
    RunsInFlight& self = instance();
    std::lock_guard<std::mutex> lock(self.mutex_);
    for (const Entry& e : self.runs_) {
      if (e.env != env) continue;
      if (auto state = e.state.lock()) state->stop.store(true);
    }
  }

 private:
  struct Entry {
    napi_env env;
    std::weak_ptr<RunState> state;
  };
  std::mutex mutex_;
  std::vector<Entry> runs_;
};

// Runs UL iterations off the JS thread; each record reaches JS through the worker's thread-safe
// queue, and the promise settles after the last record was delivered.
class RunWorker : public Napi::AsyncProgressQueueWorker<core::IterationRecord> {
 public:
  RunWorker(Napi::Function onRecord, std::shared_ptr<core::Solver> solver, std::shared_ptr<Ranks> ranks, std::shared_ptr<RunState> state,
            int64_t iterations)
      : Napi::AsyncProgressQueueWorker<core::IterationRecord>(onRecord, "bilevel.run"),
        deferred_(Napi::Promise::Deferred::New(onRecord.Env())),
        solver_(std::move(solver)),
        ranks_(std::move(ranks)),
        state_(std::move(state)),
        iterations_(iterations) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute(const ExecutionProgress& progress) override {
    try {
      if (ranks_) onComputeThread([this] { ranks_->start(*solver_); });
      for (int64_t i = 0; i < iterations_ && !stopRequested(); ++i) {
        // One iteration per job, so that runs of other environments (worker threads) interleave.
        const core::IterationRecord record = computed([this] { return solver_->step(); });
        progress.Send(&record, 1);
        ++done_;
      }
    } catch (const core::Error& e) {
      fail(e.code, e.what(), e.cause);
    } catch (const std::exception& e) {
      const std::string cause = torchMessage(e);
      fail(classifyException(e), firstLine(cause), cause);
    } catch (...) {
      fail("NATIVE", "unknown native error", "");
    }
  }

  void OnProgress(const core::IterationRecord* records, size_t count) override {
    for (size_t i = 0; i < count && callbackError_.IsEmpty(); ++i) {
      try {
        Callback().Call({toJs(Env(), records[i])});
      } catch (const Napi::Error& e) {
        // The listener threw, or JS can no longer run (the environment is ending): stop after this
        // iteration and reject with the listener's error, if there is one.
        state_->stop.store(true);
        const Napi::Object error = e.Value();
        if (!error.IsEmpty()) callbackError_ = Napi::Persistent(error);
      }
    }
  }

  void OnOK() override { settle(); }
  void OnError(const Napi::Error&) override { settle(); }

 private:
  // Whether to stop before the next iteration. In a process group: where any rank was asked to, so
  // that all stop after the same iteration (a rank that went on alone would wait for the others).
  bool stopRequested() {
    const bool stop = state_->stop.load();
    return ranks_ ? computed([&] { return ranks_->group->any(stop); }) : stop;
  }

  void fail(const std::string& code, const std::string& message, const std::string& cause) {
    code_ = code;
    message_ = message;
    cause_ = cause;
    SetError(message);
  }

  // Called by node-addon-api outside any try: nothing may escape, or the process terminates.
  void settle() {
    state_->running = false;
    RunsInFlight::instance().remove(state_);
    try {
      if (!callbackError_.IsEmpty()) {
        deferred_.Reject(callbackError_.Value());
      } else if (!code_.empty()) {
        deferred_.Reject(makeError(Env(), code_, "run: " + message_, cause_).Value());
      } else {
        deferred_.Resolve(Napi::Number::New(Env(), static_cast<double>(done_)));
      }
    } catch (const Napi::Error&) {
      // JS can no longer run (worker.terminate(), process exit): nobody can await the promise.
    }
  }

  Napi::Promise::Deferred deferred_;
  std::shared_ptr<core::Solver> solver_;
  std::shared_ptr<Ranks> ranks_;
  std::shared_ptr<RunState> state_;
  int64_t iterations_;
  int64_t done_ = 0;  // written by the worker, read after it ended
  std::string code_, message_, cause_;
  Napi::ObjectReference callbackError_;
};

class SolverWrap : public Napi::ObjectWrap<SolverWrap> {
 public:
  static Napi::Function define(Napi::Env env) {
    Napi::Function cls = DefineClass(env, "NativeSolver",
                                     {InstanceMethod<&SolverWrap::step>("step"),
                                      InstanceMethod<&SolverWrap::run>("run"),
                                      InstanceMethod<&SolverWrap::startFromRankZero>("startFromRankZero"),
                                      InstanceMethod<&SolverWrap::stop>("stop"),
                                      InstanceMethod<&SolverWrap::anyThread>("anyThread"),
                                      InstanceMethod<&SolverWrap::values>("values"),
                                      InstanceMethod<&SolverWrap::save>("save"),
                                      InstanceMethod<&SolverWrap::load>("load"),
                                      InstanceMethod<&SolverWrap::dispose>("dispose")});
    instanceData(env).solverClass = Napi::Persistent(cls);
    return cls;
  }

  explicit SolverWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SolverWrap>(info) {
    if (!info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "NativeSolver is created by createSolver");
    NewSolver& made = *info[0].As<Napi::External<NewSolver>>().Data();
    solver_ = std::move(made.solver);
    ranks_ = std::move(made.ranks);
  }

 private:
  // The solver, when it is neither disposed, nor running on a worker, nor in use by a call of
  // this thread (an objective written in JS calling back into the solver that runs it).
  core::Solver& idle() {
    if (!solver_ || disposeRequested_) throw CodedError("DISPOSED", "solver was disposed");
    if (state_->running) {
      throw CodedError("INVALID_ARGUMENT", "the solver is busy off the main thread (a run, save or load); await it first");
    }
    if (inUse_) {
      throw CodedError("INVALID_ARGUMENT", "the solver is in the middle of a call (an objective called back into the solver running it)");
    }
    return *solver_;
  }

  // Runs body(solver) with the solver marked in use; a dispose() requested meanwhile happens after.
  template <typename Body>
  auto exclusive(Body&& body) {
    core::Solver& solver = idle();
    inUse_ = true;
    struct Release {
      SolverWrap& self;
      ~Release() {
        self.inUse_ = false;
        if (self.disposeRequested_) self.solver_.reset();
      }
    } release{*this};
    return body(solver);
  }

  Napi::Value step(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), "step", [&] {
      // It would wait on the JS thread for the other ranks, outside the agreement on when to stop.
      if (ranks_) throw CodedError("INVALID_ARGUMENT", "a solver in a process group advances with run(), where its ranks agree on every iteration");
      return Napi::Value(toJs(info.Env(), exclusive([](core::Solver& s) {
        return s.anyThread() ? computed([&] { return s.step(); }) : s.step();
      })));
    });
  }

  // run(iterations, onRecord) -> Promise<number of iterations done>, on a worker thread.
  Napi::Value run(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), "run", [&] {
      core::Solver& solver = idle();
      if (!solver.anyThread()) {
        throw CodedError("INVALID_ARGUMENT", "objectives written in JavaScript run on the main thread; step() instead");
      }
      const int64_t iterations = toInt64(info[0], "iterations");
      if (iterations < 0) throw CodedError("INVALID_ARGUMENT", "iterations must be >= 0");
      if (!info[1].IsFunction()) throw CodedError("INVALID_ARGUMENT", "onRecord must be a function");
      state_->stop.store(false);
      state_->running = true;
      RunsInFlight::instance().add(info.Env(), state_);
      auto* worker = new RunWorker(info[1].As<Napi::Function>(), solver_, ranks_, state_, iterations);  // deletes itself
      const Napi::Promise promise = worker->promise();
      worker->Queue();
      return Napi::Value(promise);
    });
  }

  // startFromRankZero() -> Promise<UL iterations done>: in a process group, every rank takes rank 0's
  // start (as the first run() does, when this was not called); without one, nothing changes.
  Napi::Value startFromRankZero(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), "startFromRankZero", [&] {
      const std::shared_ptr<Ranks> ranks = ranks_;
      return offThread<int64_t>(
          info.Env(), "startFromRankZero",
          [ranks](core::Solver& s) {
            if (ranks) ranks->start(s);
            return s.iteration();
          },
          [](Napi::Env env, int64_t& done) { return Napi::Value(Napi::Number::New(env, static_cast<double>(done))); });
    });
  }

  // Asks a run to end after its current iteration.
  Napi::Value stop(const Napi::CallbackInfo& info) {
    state_->stop.store(true);
    return info.Env().Undefined();
  }

  Napi::Value anyThread(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), solver_ && solver_->anyThread());
  }

  // {x, y, z}: copies of the current variables (z empty without IA).
  Napi::Value values(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), "values", [&] {
      core::Solver& s = idle();
      Napi::Object out = Napi::Object::New(info.Env());
      out.Set("x", TensorWrap::wrapList(info.Env(), core::cloned(s.upperValues())));
      out.Set("y", TensorWrap::wrapList(info.Env(), core::cloned(s.lowerValues())));
      out.Set("z", TensorWrap::wrapList(info.Env(), core::cloned(s.auxiliaryValues())));
      return Napi::Value(out);
    });
  }

  // save(path, meta) -> Promise: the whole state and a metadata string, written atomically on a
  // worker thread; the solver is busy until it settles.
  Napi::Value save(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), "save", [&] {
      if (!info[0].IsString() || !info[1].IsString()) throw CodedError("INVALID_ARGUMENT", "save(path, meta) takes two strings");
      const std::string path = info[0].As<Napi::String>().Utf8Value(), meta = info[1].As<Napi::String>().Utf8Value();
      return offThread<bool>(
          info.Env(), "save", [path, meta](core::Solver& s) { core::saveCheckpoint(s, path, meta); return true; },
          [](Napi::Env env, bool&) { return env.Undefined(); });
    });
  }

  // load(path) -> Promise<meta>: restores a saved state on a worker thread; on any error nothing changes.
  Napi::Value load(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), "load", [&] {
      if (!info[0].IsString()) throw CodedError("INVALID_ARGUMENT", "load(path) takes a string");
      const std::string path = info[0].As<Napi::String>().Utf8Value();
      return offThread<std::string>(
          info.Env(), "load", [path](core::Solver& s) { return core::loadCheckpoint(s, path); },
          [](Napi::Env env, std::string& meta) { return Napi::Value(Napi::String::New(env, meta)); });
    });
  }

  // body(solver) on a worker thread, as a Promise; the solver is busy (as during run()) until it
  // settles, and the worker's reference keeps it alive through a dispose() meanwhile.
  template <typename Result>
  Napi::Value offThread(Napi::Env env, const char* operation, std::function<Result(core::Solver&)> body,
                        typename PromiseWorker<Result>::Finish finish) {
    idle();
    state_->running = true;
    const std::shared_ptr<core::Solver> solver = solver_;
    const std::shared_ptr<RunState> state = state_;
    return PromiseWorker<Result>::start(
        env, operation, [solver, body] { return body(*solver); }, std::move(finish), [state] { state->running = false; });
  }

  // Frees the solver; a run in progress stops after its iteration and then frees it, and a call
  // in progress on this thread (dispose() from an objective) frees it when it returns.
  Napi::Value dispose(const Napi::CallbackInfo& info) {
    state_->stop.store(true);
    if (inUse_) {
      disposeRequested_ = true;
    } else {
      solver_.reset();
    }
    return info.Env().Undefined();
  }

  std::shared_ptr<core::Solver> solver_;
  std::shared_ptr<Ranks> ranks_;  // the ranks it solves with, if any
  std::shared_ptr<RunState> state_ = std::make_shared<RunState>();
  bool inUse_ = false;
  bool disposeRequested_ = false;
};

std::unique_ptr<core::Solver> makeSolver(const SolverOptions& options, std::shared_ptr<core::Problem> problem) {
  if (const auto* bamm = std::get_if<core::BammOptions>(&options)) return core::makeBammSolver(std::move(problem), *bamm);
  if (const auto* training = std::get_if<core::TrainingOptions>(&options)) return core::makeTrainingSolver(std::move(problem), *training);
  return core::makeTrajectorySolver(std::move(problem), std::get<core::TrajectorySolverOptions>(options));
}

// JSON with object keys sorted at every level, so equal configs give equal text whatever their
// field order; members that are not JSON (tensors, functions) count by their JSON form.
void appendCanonicalJson(Napi::Env env, const Napi::Value& value, std::string& out, int depth) {
  if (depth > 32) throw CodedError("INVALID_ARGUMENT", "config: nested deeper than 32 levels");
  if (value.IsArray()) {
    const Napi::Array array = value.As<Napi::Array>();
    out += '[';
    for (uint32_t i = 0; i < array.Length(); ++i) {
      if (i > 0) out += ',';
      appendCanonicalJson(env, array.Get(i), out, depth + 1);
    }
    out += ']';
  } else if (value.IsObject() && !value.IsFunction()) {
    const Napi::Object object = value.As<Napi::Object>();
    const Napi::Array names = object.GetPropertyNames();
    std::vector<std::string> keys;
    for (uint32_t i = 0; i < names.Length(); ++i) keys.push_back(names.Get(i).ToString().Utf8Value());
    std::sort(keys.begin(), keys.end());
    out += '{';
    bool first = true;
    for (const std::string& key : keys) {
      const Napi::Value member = object.Get(key);
      if (member.IsUndefined() || member.IsFunction()) continue;
      if (!first) out += ',';
      first = false;
      appendCanonicalJson(env, Napi::String::New(env, key), out, depth + 1);
      out += ':';
      appendCanonicalJson(env, member, out, depth + 1);
    }
    out += '}';
  } else {
    const Napi::Object json = env.Global().Get("JSON").As<Napi::Object>();
    const Napi::Value text = json.Get("stringify").As<Napi::Function>().Call(json, {value});
    out += text.IsString() ? text.As<Napi::String>().Utf8Value() : "null";
  }
}

// createSolver(config, problem, group?) -> NativeSolver
Napi::Value createSolver(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "createSolver", [&] {
    NewSolver made;
    std::shared_ptr<core::Problem> problem = ProblemWrap::unwrap(info[1]);
    if (!info[2].IsUndefined()) {
      const std::shared_ptr<const core::ProcessGroup> group = ProcessGroupWrap::unwrap(info[2]);
      // A JS objective steps on the JS thread, outside the run loop that keeps the ranks in step.
      if (!problem->anyThread()) throw CodedError("INVALID_ARGUMENT", "a process group solves native problems only (this one has objectives written in JavaScript)");
      problem = core::shardedProblem(std::move(problem), group);
      made.ranks = std::make_shared<Ranks>();
      made.ranks->group = group;
    }
    made.solver = makeSolver(parseSolverConfig(info[0]), std::move(problem));
    core::Solver* solver = made.solver.get();
    std::string configuration;
    appendCanonicalJson(info.Env(), info[0], configuration, 0);
    solver->setConfiguration(std::move(configuration));
    return Napi::Value(instanceData(info.Env()).solverClass.New({Napi::External<NewSolver>::New(info.Env(), &made)}));
  });
}

// checkSolverConfig(config): throws the reason a config is refused.
Napi::Value checkSolverConfig(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "checkSolverConfig", [&] {
    parseSolverConfig(info[0]);
    return info.Env().Undefined();
  });
}

// process.on('exit') listener of this environment.
Napi::Value stopRunsOnExit(const Napi::CallbackInfo& info) {
  RunsInFlight::stopAll(static_cast<napi_env>(info.Env()));
  return info.Env().Undefined();
}

// describeOptions() -> the C++ option declarations (binding/solver_config.h).
Napi::Value describeOptionsJs(const Napi::CallbackInfo& info) { return describeOptions(info.Env()); }

}  // namespace

void registerSolvers(Napi::Env env, Napi::Object exports) {
  napi_add_env_cleanup_hook(env, RunsInFlight::stopAll, static_cast<napi_env>(env));
  const Napi::Object process = env.Global().Get("process").As<Napi::Object>();
  process.Get("on").As<Napi::Function>().Call(process, {Napi::String::New(env, "exit"), Napi::Function::New<stopRunsOnExit>(env, "stopRunsOnExit")});
  exports.Set("NativeSolver", SolverWrap::define(env));
  exports.Set("createSolver", Napi::Function::New<createSolver>(env, "createSolver"));
  exports.Set("checkSolverConfig", Napi::Function::New<checkSolverConfig>(env, "checkSolverConfig"));
  exports.Set("describeOptions", Napi::Function::New<describeOptionsJs>(env, "describeOptions"));
}

}  // namespace bilevel::binding

#include "core/solver.h"

#include <limits>

#include "core/error.h"
#include "core/memory.h"
#include "core/stopwatch.h"

namespace bilevel::core {
namespace {

void checkSameShapes(const TensorList& a, const TensorList& b, const std::string& what) {
  if (a.size() != b.size()) {
    throw Error("SHAPE_MISMATCH", what + ": " + std::to_string(a.size()) + " tensors for " +
                                      std::to_string(b.size()) + " LL variables");
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].sizes() != b[i].sizes()) {
      throw Error("SHAPE_MISMATCH", what + "[" + std::to_string(i) + "] has shape " + c10::str(a[i].sizes()) +
                                        ", the LL variable has " + c10::str(b[i].sizes()));
    }
  }
}

class TrajectorySolver : public Solver {
 public:
  TrajectorySolver(std::shared_ptr<Problem> problem, const TrajectorySolverOptions& options)
      : Solver(std::move(problem)),
        options_(options),
        dynamics_(options.dynamics),
        hypergradient_(makeHypergradient(options.hypergradient)),
        upperOptimizer_(options.upper) {
    requireUpperVariables("a trajectory solver");
    checkOptions(options_);
    if (options_.initAuxiliary) {
      auxiliaryOptimizer_.emplace(options_.initAuxiliary->optimizer);
      const TensorList& initial = options_.initAuxiliary->initial;
      z_ = cloned(initial.empty() ? problem_->lowerVariables().initial : initial);
      checkSameShapes(z_, problem_->lowerVariables().initial, "initAuxiliary.initial");
      const auto& sets = options_.initAuxiliary->sets;
      zSets_ = sets.empty() ? problem_->lowerVariables().sets
                            : (sets.size() == 1 ? std::vector<Box>(z_.size(), sets[0]) : sets);
      checkBoxes(z_, zSets_, "initAuxiliary.set");
    }
    carried_ = dynamics_.carriedOf(dynamics_.initialState(y_));
    if (options_.prior) {
      anchor_ = options_.prior->anchor.empty() ? cloned(z_) : cloned(options_.prior->anchor);
      checkSameShapes(anchor_, z_, "prior.anchor");
    }
  }

  TensorList auxiliaryValues() const override { return z_; }

 protected:
  void saveOwn(StateWriter& writer) const override {
    writer.tensors("z", z_);
    // Only where the dynamics carry state, so the other members' checkpoints stay as they were.
    if (!carried_.empty()) writer.tensors("lowerCarried", carried_);
    // The prior's anchor, which may come from z_0: the ranks of a process group take rank 0's.
    if (!anchor_.empty()) writer.tensors("priorAnchor", anchor_);
    upperOptimizer_.save(writer, "upperOptimizer");
    if (auxiliaryOptimizer_) auxiliaryOptimizer_->save(writer, "auxiliaryOptimizer");
  }

  Commit loadOwn(StateReader& reader) override {
    TensorList z = reader.tensors("z", z_);
    TensorList carried = carried_.empty() ? TensorList{} : reader.tensors("lowerCarried", carried_);
    // Optional: checkpoints written before it was saved hold none (and the config's anchor stays).
    TensorList anchor = anchor_.empty() ? TensorList{} : reader.optionalTensors("priorAnchor", anchor_);
    Commit upper = upperOptimizer_.load(reader, "upperOptimizer", x_);
    Commit auxiliary = auxiliaryOptimizer_ ? auxiliaryOptimizer_->load(reader, "auxiliaryOptimizer", z_) : Commit([] {});
    return [this, z, carried, anchor, upper, auxiliary] {
      z_ = z;
      carried_ = carried;
      if (!anchor.empty()) anchor_ = anchor;
      upper();
      auxiliary();
    };
  }

  void iterate(IterationRecord& record) override {
    const bool ia = options_.initAuxiliary.has_value();
    const TensorList x = leaves(x_);
    const bool warm = !ia && options_.lowerStart == LowerStart::Warm;
    const TensorList y0 = ia ? leaves(z_) : (warm ? y_ : problem_->lowerVariables().initial);
    const IterationBatches batches = nextBatches(dynamics_.steps());
    const Dynamics dynamics = scheduled(dynamics_, options_.lowerLrSchedule, iteration_);
    HypergradientInput input{*problem_, dynamics, x, y0, ia, options_.truncation, batches, warm ? carried_ : TensorList{}};
    HypergradientOutput out = hypergradient_->compute(input);
    record.unrollMs = out.unrollMs;
    record.hypergradientMs = out.backwardMs;
    record.steps = out.kbar;
    Stopwatch watch;
    if (options_.prior && (options_.prior->iterations == 0 || iteration_ < options_.prior->iterations)) {
      // grad of weight/2 ||z - anchor||^2, added exactly.
      out.z = axpy(out.z, axpy(z_, anchor_, -1.0), options_.prior->weight);
    }
    {
      torch::NoGradGuard noGrad;
      record.upper = std::isnan(out.upperAtLast) ? problem_->upperObjective(x_, out.yLast, batches.upper).item<double>() : out.upperAtLast;
      record.lower = problem_->lowerObjective(x_, out.yLast, batches.lowerLast(dynamics_.steps())).item<double>();
    }
    requireFinite(record.upper, iteration_, "F(x, y_K)");
    requireFinite(record.lower, iteration_, "f(x, y_K)");
    requireFinite(out.x, iteration_, "the hypergradient of x");
    requireFinite(out.z, iteration_, "the hypergradient of z");
    requireFinite(out.yLast, iteration_, "the LL iterate y_K");
    TensorList nextX = upperOptimizer_.step(x_, out.x, problem_->upperVariables().sets);
    TensorList nextZ = ia ? auxiliaryOptimizer_->step(z_, out.z, zSets_) : TensorList{};
    requireFinite(nextX, iteration_, "the updated x");
    requireFinite(nextZ, iteration_, "the updated z");
    upperOptimizer_.commit();
    if (ia) auxiliaryOptimizer_->commit();
    x_ = std::move(nextX);
    z_ = std::move(nextZ);
    y_ = detached(out.yLast);
    carried_ = out.carriedLast;
    record.gradientNormX = norm(out.x);
    record.gradientNormZ = norm(out.z);
    record.updateMs = watch.lap();
  }

 private:
  TrajectorySolverOptions options_;
  Dynamics dynamics_;
  std::unique_ptr<Hypergradient> hypergradient_;
  Optimizer upperOptimizer_;
  std::optional<Optimizer> auxiliaryOptimizer_;
  TensorList z_, anchor_;
  TensorList carried_;  // what a warm start carries beyond y (Dynamics::carriedOf): heavyBall's velocity
  std::vector<Box> zSets_;
};

}  // namespace

Solver::Solver(std::shared_ptr<Problem> problem)
    : problem_(std::move(problem)),
      sampler_(problem_->sampler()),
      x_(cloned(problem_->upperVariables().initial)),
      y_(cloned(problem_->lowerVariables().initial)) {}

void Solver::save(StateWriter& writer) const {
  writer.text("configuration", configuration_);
  writer.tensors("x", x_);
  writer.tensors("y", y_);
  writer.integer("iteration", iteration_);
  if (sampler_) sampler_->save(writer, "sampler.");
  saveOwn(writer);
}

void Solver::requireUpperVariables(const char* solver) const {
  if (x_.empty()) {
    throw Error("INVALID_ARGUMENT", std::string(solver) + " learns x, and this problem has no UL variables (a training task): use the training solver");
  }
}

IterationBatches Solver::nextBatches(int64_t lowerSteps) { return sampler_ ? sampler_->next(lowerSteps) : IterationBatches{}; }

Commit Solver::load(StateReader& reader) {
  if (reader.text("configuration") != configuration_) {
    throw Error("INVALID_ARGUMENT", reader.path() + ": the checkpoint was written by a solver with another configuration");
  }
  TensorList x = reader.tensors("x", x_);
  TensorList y = reader.tensors("y", y_);
  const int64_t iteration = reader.integer("iteration", 0, std::numeric_limits<int64_t>::max());
  Commit sampler = sampler_ ? sampler_->load(reader, "sampler.") : Commit([] {});
  Commit own = loadOwn(reader);
  return [this, x, y, iteration, sampler, own] {
    x_ = x;
    y_ = y;
    iteration_ = iteration;
    sampler();
    own();
  };
}

IterationRecord Solver::step() {
  PeakMemory memory;
  IterationRecord record;
  record.iteration = iteration_;
  iterate(record);
  record.peakBytes = memory.peakBytes();
  ++iteration_;
  return record;
}

namespace {
[[noreturn]] void refuseNonFinite(int64_t iteration, const std::string& what) {
  throw Error("NON_FINITE", "iteration " + std::to_string(iteration) + ": " + what +
                                " is not finite (NaN or Inf); the variables keep their values from before this iteration");
}
}  // namespace

void requireFinite(const TensorList& values, int64_t iteration, const char* what) {
  if (!allFinite(values)) refuseNonFinite(iteration, what);
}

void requireFinite(double value, int64_t iteration, const char* what) {
  if (std::isfinite(value)) return;
  // Spelled out: a NaN's sign bit depends on the kernels that made it ("-nan" from to_string).
  const char* shown = std::isnan(value) ? "nan" : value > 0 ? "inf" : "-inf";
  refuseNonFinite(iteration, std::string(what) + " = " + shown);
}

const OptionFields<PriorOptions>& priorFields() {
  using O = PriorOptions;
  static const OptionFields<O> fields = {{"weight", &O::weight, 1.0, nonNegative()},
                                         {"iterations", &O::iterations, 0, between(0, kMaxUpperIterations)}};
  return fields;
}

void checkOptions(const TrajectorySolverOptions& o) {
  // Constructing the pieces runs their own range checks.
  Dynamics{o.dynamics};
  Optimizer{o.upper};
  if (o.initAuxiliary) Optimizer{o.initAuxiliary->optimizer};
  checkCombination(o.hypergradient, o.dynamics, o.initAuxiliary.has_value(), o.truncation);
  if (o.prior && !o.initAuxiliary) {
    throw Error("INVALID_ARGUMENT", "prior regularizes the auxiliary variable z, so it needs initAuxiliary");
  }
  if (o.prior && !(o.prior->weight >= 0)) throw Error("INVALID_ARGUMENT", "prior.weight must be >= 0");
  if (o.prior && o.prior->iterations < 0) throw Error("INVALID_ARGUMENT", "prior.iterations must be >= 0");
  if (o.initAuxiliary && o.lowerStart == LowerStart::Warm) {
    throw Error("INVALID_ARGUMENT", "lowerStart 'warm' and initAuxiliary both choose y_0; pick one");
  }
  if (o.lowerLrSchedule) checkSchedule(*o.lowerLrSchedule, o.dynamics);
}

std::unique_ptr<Solver> makeTrajectorySolver(std::shared_ptr<Problem> problem, const TrajectorySolverOptions& options) {
  return std::make_unique<TrajectorySolver>(std::move(problem), options);
}

}  // namespace bilevel::core

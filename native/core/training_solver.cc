#include "core/training_solver.h"

#include "core/error.h"
#include "core/stopwatch.h"

namespace bilevel::core {
namespace {

class TrainingSolver : public Solver {
 public:
  TrainingSolver(std::shared_ptr<Problem> problem, const TrainingOptions& options)
      : Solver(std::move(problem)), options_(options), dynamics_(options.dynamics) {
    checkOptions(options_);
    carried_ = dynamics_.carriedOf(dynamics_.initialState(y_));
  }

 protected:
  void iterate(IterationRecord& record) override {
    const int64_t steps = dynamics_.steps();
    const IterationBatches batches = nextBatches(steps);
    const Dynamics dynamics = scheduled(dynamics_, options_.lowerLrSchedule, iteration_);
    Stopwatch watch;
    const State last = unroll(*problem_, dynamics, x_, dynamics.initialState(y_, carried_), 0, steps, false, batches);
    const TensorList y = dynamics.lowerOf(last, y_.size());
    record.unrollMs = watch.lap();
    record.steps = steps;
    {
      torch::NoGradGuard noGrad;
      record.upper = problem_->upperObjective(x_, y, batches.upper).item<double>();
      record.lower = problem_->lowerObjective(x_, y, batches.lowerLast(steps)).item<double>();
    }
    requireFinite(record.upper, iteration_, "F(x, y_K)");
    requireFinite(record.lower, iteration_, "f(x, y_K)");
    requireFinite(y, iteration_, "the LL iterate y_K");
    y_ = detached(y);
    carried_ = detached(dynamics.carriedOf(last));
    record.updateMs = watch.lap();
  }

  void saveOwn(StateWriter& writer) const override {
    if (!carried_.empty()) writer.tensors("lowerCarried", carried_);
  }

  Commit loadOwn(StateReader& reader) override {
    TensorList carried = carried_.empty() ? TensorList{} : reader.tensors("lowerCarried", carried_);
    return [this, carried] { carried_ = carried; };
  }

 private:
  TrainingOptions options_;
  Dynamics dynamics_;
  TensorList carried_;  // heavyBall's velocity, carried from iteration to iteration
};

}  // namespace

void checkOptions(const TrainingOptions& options) {
  const Dynamics dynamics{options.dynamics};  // its own range checks
  if (options.dynamics.kind == DynamicsOptions::Kind::Bda) {
    throw Error("INVALID_ARGUMENT", "training descends f alone; bda dynamics mix in F's gradient: use gd, nesterov, accelerated or heavyBall");
  }
  if (options.lowerLrSchedule) checkSchedule(*options.lowerLrSchedule, options.dynamics);
}

std::unique_ptr<Solver> makeTrainingSolver(std::shared_ptr<Problem> problem, const TrainingOptions& options) {
  return std::make_unique<TrainingSolver>(std::move(problem), options);
}

}  // namespace bilevel::core

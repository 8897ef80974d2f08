// A bilevel run: one UL iteration per step(), with a record of what it cost.
#pragma once
#include <memory>
#include <optional>

#include "core/checkpoint.h"
#include "core/hypergradient.h"
#include "core/lr_schedule.h"
#include "core/optimizer.h"

namespace bilevel::core {

struct IterationRecord {
  int64_t iteration = 0;
  double upper = 0;          // F(x_t, y_K)
  double lower = 0;          // f(x_t, y_K)
  int64_t steps = 0;         // Kbar under PTT, else K (1 for single-loop)
  double gradientNormX = 0;  // ||g_x||
  double gradientNormZ = 0;  // ||g_z|| (IA), else 0
  double unrollMs = 0;
  double hypergradientMs = 0;
  double updateMs = 0;
  int64_t peakBytes = 0;  // tensor memory allocated during the iteration, at its peak
};

class Solver {
 public:
  virtual ~Solver() = default;
  // One UL iteration. Throws NON_FINITE (naming the iteration) and keeps the last good values.
  IterationRecord step();
  TensorList upperValues() const { return x_; }
  TensorList lowerValues() const { return y_; }
  virtual TensorList auxiliaryValues() const { return {}; }
  // The UL iterations done (those before a restored state included).
  int64_t iteration() const { return iteration_; }
  // The problem it solves (a decorated one, such as a process group's share of it, included).
  const Problem& problem() const { return *problem_; }
  bool anyThread() const { return problem_->anyThread(); }
  // A canonical text of the configuration that built this solver (the binding's JSON of it):
  // checkpoints record it, and a load into a solver of another configuration is refused.
  void setConfiguration(std::string configuration) { configuration_ = std::move(configuration); }
  // The whole state (x, y, the iteration, and each solver's own: z, optimizer moments, v).
  void save(StateWriter& writer) const;
  // Reads and checks a saved state; nothing changes until the returned step runs.
  Commit load(StateReader& reader);

 protected:
  // x and y start as copies of the problem's starting values.
  explicit Solver(std::shared_ptr<Problem> problem);
  // Refuses a problem without UL variables, naming the solver that needs them.
  void requireUpperVariables(const char* solver) const;
  // The batches of this iteration from the solver's own sampler (none when the problem has no
  // sampler: every evaluation on the full data).
  IterationBatches nextBatches(int64_t lowerSteps);
  // Fills record (all but iteration and peakBytes) and advances x_, y_ on success.
  virtual void iterate(IterationRecord& record) = 0;
  virtual void saveOwn(StateWriter&) const {}
  virtual Commit loadOwn(StateReader&) {
    return [] {};
  }

  std::shared_ptr<Problem> problem_;
  std::unique_ptr<Sampler> sampler_;  // saved with the solver's state
  TensorList x_;
  TensorList y_;
  int64_t iteration_ = 0;

 private:
  std::string configuration_;
};

// Initialization Auxiliary (Eq. 5): y_0 = z, learned by its own optimizer inside its own set.
struct InitAuxiliaryOptions {
  OptimizerOptions optimizer;
  std::vector<Box> sets;  // empty: the LL sets; one box: for every z tensor
  TensorList initial;     // z_0; empty: the LL start
};

// Prior regularization (Eq. 6): g(z) = weight / 2 * ||z - anchor||^2 on the first `iterations`.
struct PriorOptions {
  double weight = 1.0;
  TensorList anchor;       // empty: the LL start
  int64_t iterations = 0;  // 0: every iteration
};

// The prior's numeric fields (the anchor is tensors, given apart).
const OptionFields<PriorOptions>& priorFields();

enum class LowerStart { Fixed, Warm };

struct TrajectorySolverOptions {
  DynamicsOptions dynamics;
  HypergradientOptions hypergradient;
  OptimizerOptions upper;
  std::optional<InitAuxiliaryOptions> initAuxiliary;
  std::optional<PriorOptions> prior;
  Truncation truncation = Truncation::None;
  LowerStart lowerStart = LowerStart::Fixed;
  std::optional<CosineSchedule> lowerLrSchedule;  // dynamics.lr across UL iterations; none: constant
};

// Refuses option combinations that make no sense, with the reason.
void checkOptions(const TrajectorySolverOptions& options);

std::unique_ptr<Solver> makeTrajectorySolver(std::shared_ptr<Problem> problem, const TrajectorySolverOptions& options);

// sl-BAMM (docs/algorithms.md §7); unset mu / lr follow the decaying schedules.
struct BammOptions {
  double mu0 = 0.9;
  double p = 10;
  double tau = 1.0 / 40.0;
  double beta = 0.1;
  std::optional<double> mu;
  std::optional<double> lr;
};

const OptionFields<BammOptions>& bammFields();

std::unique_ptr<Solver> makeBammSolver(std::shared_ptr<Problem> problem, const BammOptions& options);

// Shared by both solvers: the NON_FINITE refusal that keeps the last good values.
void requireFinite(const TensorList& values, int64_t iteration, const char* what);
void requireFinite(double value, int64_t iteration, const char* what);

}  // namespace bilevel::core

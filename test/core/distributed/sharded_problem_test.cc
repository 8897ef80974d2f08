// Data-parallel solving (core/distributed): ranks as threads of this process, joined through an
// in-memory store. Two ranks, each on its half of every batch, must reach the x and y that one
// process reaches on the whole batches, for a hypergradient through the unroll (reverse mode) and
// one through Hessian-vector products (CG); a rank that stops makes the other fail, not hang.
#include <torch/csrc/distributed/c10d/HashStore.hpp>

#include <functional>
#include <thread>

#include "core/data/generator_stream.h"
#include "core/data/row_sampler.h"
#include "core/distributed/rank_zero_start.h"
#include "core/distributed/sharded_problem.h"
#include "core/models/layers.h"
#include "core/solver.h"
#include "core/tasks/few_shot/episodic_problem.h"
#include "../support.h"

namespace bilevel::core {
namespace {

// Ridge regression on rows: f = mean_i (a_i . y - b_i)^2 + exp(x) |y|^2 / 2 on a batch of rows,
// F = mean_i (a_i . y - c_i)^2; a fresh batch of 8 of the 64 rows for each LL step and for F.
class RowsProblem : public Problem {
 public:
  explicit RowsProblem(double x0 = -1.0)
      : Problem(Variables{{torch::full({1}, x0, torch::kFloat64)}, {}}, Variables{{torch::zeros({3}, torch::kFloat64)}, {}}) {
    // A generator of its own: the ranks are threads, and the global one would be drawn from by both
    // at once, giving each rank different rows.
    at::Generator data = generatorStream(3, "data");
    a_ = torch::randn({64, 3}, data, torch::kFloat64);
    b_ = torch::randn({64}, data, torch::kFloat64);
    c_ = a_.matmul(torch::tensor({1.0, -2.0, 0.5}, torch::kFloat64)) + 0.1 * torch::randn({64}, data, torch::kFloat64);
  }
  std::unique_ptr<Sampler> sampler() const override { return std::make_unique<RowSampler>(64, 8, generatorStream(5, "rows"), torch::kCPU, 64); }

 protected:
  torch::Tensor evaluateUpper(const TensorList&, const TensorList& y, const Batch& batch) override {
    const torch::Tensor rows = batch.at("rows");
    return (featuresOf(batch).matmul(y[0]) - c_.index_select(0, rows)).pow(2).mean();
  }
  torch::Tensor evaluateLower(const TensorList& x, const TensorList& y, const Batch& batch) override {
    const torch::Tensor rows = batch.at("rows");
    return (featuresOf(batch).matmul(y[0]) - b_.index_select(0, rows)).pow(2).mean() + x[0].exp().squeeze() * y[0].pow(2).sum() / 2;
  }
  // The rows' a_i, or the features a batch brings instead.
  torch::Tensor featuresOf(const Batch& batch) const {
    const auto& tensors = batch.tensors();
    const bool given = std::any_of(tensors.begin(), tensors.end(), [](const auto& named) { return named.first == "features"; });
    return given ? batch.at("features") : a_.index_select(0, batch.at("rows"));
  }

 private:
  torch::Tensor a_, b_, c_;
};

// RowsProblem's rows through a batch norm over the batch, x scaling them inside a tanh first: the
// statistics of a split batch must be the whole batch's, on every rank.
class NormalizedRowsProblem : public RowsProblem {
 protected:
  torch::Tensor evaluateUpper(const TensorList& x, const TensorList& y, const Batch& batch) override {
    return RowsProblem::evaluateUpper(x, y, normalized(x, batch));
  }
  torch::Tensor evaluateLower(const TensorList& x, const TensorList& y, const Batch& batch) override {
    return RowsProblem::evaluateLower(x, y, normalized(x, batch));
  }

 private:
  // The batch with its rows' features normalized; RowsProblem reads them from "features".
  Batch normalized(const TensorList& x, const Batch& batch) const {
    const torch::Tensor rows = batch.at("rows");
    const torch::Tensor features = models::batchNorm(torch::tanh(features_.index_select(0, rows) * x[0].exp()), torch::Tensor(), torch::Tensor());
    return Batch({{"rows", rows}, {"features", features}});
  }
  torch::Tensor features_ = torch::randn({64, 3}, generatorStream(4, "features"), torch::kFloat64) * 2 + 1;
};

TrajectorySolverOptions solverOptions(HypergradientOptions::Kind hypergradient) {
  TrajectorySolverOptions options;
  options.dynamics.steps = 6;
  options.dynamics.lr = 0.1;
  options.hypergradient.kind = hypergradient;
  options.hypergradient.iterations = 30;
  options.upper.lr = 0.5;
  return options;
}

struct Outcome {
  TensorList x, y;
  std::vector<double> upper;
};

Outcome steps(Solver& solver, int count) {
  Outcome outcome;
  for (int i = 0; i < count; ++i) outcome.upper.push_back(solver.step().upper);
  outcome.x = solver.upperValues();
  outcome.y = solver.lowerValues();
  return outcome;
}

// Four UL iterations; in a group, from rank 0's start as the binding starts them.
Outcome solve(std::shared_ptr<Problem> problem, HypergradientOptions::Kind hypergradient, const ProcessGroup* group = nullptr) {
  std::unique_ptr<Solver> solver = makeTrajectorySolver(std::move(problem), solverOptions(hypergradient));
  if (group != nullptr) startFromRankZero(*solver, *group);
  return steps(*solver, 4);
}

// Runs body(rank's group) on `worldSize` threads joined through one in-memory store.
void onRanks(int worldSize, std::chrono::milliseconds timeout, const std::function<void(std::shared_ptr<ProcessGroup>)>& body) {
  auto store = c10::make_intrusive<c10d::HashStore>();
  std::vector<std::thread> threads;
  for (int rank = 0; rank < worldSize; ++rank) {
    threads.emplace_back([=] {
      // An exception must not leave a thread (it would end the process): it fails the test instead.
      try {
        body(std::make_shared<ProcessGroup>(store, rank, worldSize, timeout));
      } catch (const std::exception& e) {
        ADD_FAILURE() << "rank " << rank << ": " << e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
}

void expectClose(const TensorList& a, const TensorList& b, double tolerance) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(torch::allclose(a[i], b[i], tolerance, tolerance)) << "tensor " << i << ": " << (a[i] - b[i]).abs().max().item<double>();
  }
}

void expectEqual(const TensorList& a, const TensorList& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << "tensor " << i;
}

// Two ranks, each on its share of every batch, against one process on the whole batches; returns
// the single process's outcome. Sums in another order: equal to float64 rounding (`tolerance`, as
// the sums are long), not bit for bit.
Outcome expectTwoRanksAsOne(const std::function<std::shared_ptr<Problem>()>& make, HypergradientOptions::Kind hypergradient,
                            double tolerance = 1e-12) {
  const Outcome single = solve(make(), hypergradient);
  std::vector<Outcome> ranks(2);
  onRanks(2, std::chrono::seconds(60), [&](std::shared_ptr<ProcessGroup> group) {
    const int rank = group->rank();
    ranks[rank] = solve(shardedProblem(make(), group), hypergradient, group.get());
  });
  for (const Outcome& rank : ranks) {
    expectClose(rank.x, single.x, tolerance);
    expectClose(rank.y, single.y, tolerance);
    for (size_t i = 0; i < single.upper.size(); ++i) EXPECT_NEAR(rank.upper[i], single.upper[i], tolerance);
  }
  // The ranks are bit-for-bit equal to each other: the sums reach every rank alike.
  expectEqual(ranks[0].x, ranks[1].x);
  expectEqual(ranks[0].y, ranks[1].y);
  return single;
}

void expectRowsTwoRanksAsOne(HypergradientOptions::Kind hypergradient) {
  const Outcome single = expectTwoRanksAsOne([] { return std::make_shared<RowsProblem>(); }, hypergradient);
  // x moved, so the comparison compares something.
  EXPECT_GT(std::abs(single.x[0].item<double>() + 1.0), 1e-3);
}

TEST(ShardedProblemTest, TwoRanksReachWhatOneReachesThroughTheUnroll) { expectRowsTwoRanksAsOne(HypergradientOptions::Kind::Reverse); }

TEST(ShardedProblemTest, TwoRanksReachWhatOneReachesThroughHessianVectorProducts) {
  expectRowsTwoRanksAsOne(HypergradientOptions::Kind::ConjugateGradient);
}

// Batch norms over a split batch: the whole batch's statistics, differentiated through (the
// unroll's second order included).
TEST(ShardedProblemTest, BatchNormsOfASplitBatchTakeTheWholeBatchsStatistics) {
  for (const auto hypergradient : {HypergradientOptions::Kind::Reverse, HypergradientOptions::Kind::ConjugateGradient}) {
    const Outcome single = expectTwoRanksAsOne([] { return std::make_shared<NormalizedRowsProblem>(); }, hypergradient);
    EXPECT_GT(std::abs(single.x[0].item<double>() + 1.0), 1e-3);
  }
}

// A few-shot meta-batch of 4 tasks on random 16 x 16 images of 6 classes: F and f sum over tasks
// and task j reads only its own y[j] (its head; its offsets under MAML), with the heads'
// regularizer in f. Each rank takes 2 tasks and their slices of y.
std::shared_ptr<Problem> fewShotProblem(const std::string& layout) {
  FewShotOptions o;
  o.ways = 2;
  o.shots = 1;
  o.queries = 2;
  o.metaBatch = 4;
  o.imageSize = 16;
  o.channels = 2;
  o.layout = layout;
  o.regularizer = "smoothed-lq";
  o.evaluationEpisodes = 1;
  o.dtype = torch::kFloat64;
  at::Generator pixels = generatorStream(9, "pixels");
  auto train = std::make_shared<ClassImages>();
  for (int c = 0; c < 6; ++c) {
    train->names.push_back("class" + std::to_string(c));
    train->images.push_back(torch::randint(0, 256, {4, 1, 16, 16}, pixels, torch::kInt64).to(torch::kUInt8));
  }
  EpisodicData data{train, *train, backboneNetwork(o, 1, 0)};
  return layout == "maml" ? mamlProblem(std::move(data), o) : headsProblem(std::move(data), o);
}

TEST(ShardedProblemTest, TwoRanksSplitAFewShotMetaBatchAsOneSolvesIt) {
  for (const std::string layout : {"heads", "maml"}) {
    SCOPED_TRACE(layout);
    // The convolutions' gradients sum thousands of terms: 2e-12 apart after 4 iterations.
    const Outcome single = expectTwoRanksAsOne([&] { return fewShotProblem(layout); }, HypergradientOptions::Kind::Reverse, 1e-10);
    // Every task's y moved, so each rank's slice was compared.
    EXPECT_TRUE(single.y[0].flatten(1).abs().sum(1).gt(1e-6).all().item<bool>());
  }
}

TEST(ShardedProblemTest, AMetaBatchThatDoesNotSplitEvenlyIsRefused) {
  onRanks(3, std::chrono::seconds(60), [](std::shared_ptr<ProcessGroup> group) {
    EXPECT_TRUE(test::refused([&] { shardedProblem(fewShotProblem("heads"), group); }, "INVALID_ARGUMENT",
                              "y has a slice per task of the meta-batch (4), which does not split evenly over 3 processes"));
  });
}

TEST(RankZeroStartTest, EveryRankStartsFromRankZerosValues) {
  onRanks(2, std::chrono::seconds(60), [](std::shared_ptr<ProcessGroup> group) {
    // Each rank would start elsewhere; the group starts where rank 0 does, the problem's own
    // starting values (the fixed LL start) included.
    const auto sharded = shardedProblem(std::make_shared<RowsProblem>(group->rank() == 0 ? -1.0 : 2.0), group);
    const auto lowerStart = sharded->lowerVariables().initial[0];
    if (group->rank() == 1) lowerStart.fill_(7.0);
    std::unique_ptr<Solver> solver = makeTrajectorySolver(sharded, solverOptions(HypergradientOptions::Kind::Reverse));
    startFromRankZero(*solver, *group);
    EXPECT_TRUE(torch::equal(solver->upperValues()[0], torch::full({1}, -1.0, torch::kFloat64)));
    EXPECT_TRUE(torch::equal(sharded->upperVariables().initial[0], torch::full({1}, -1.0, torch::kFloat64)));
    EXPECT_TRUE(torch::equal(solver->lowerValues()[0], torch::zeros({3}, torch::kFloat64)));
    EXPECT_TRUE(torch::equal(lowerStart, torch::zeros({3}, torch::kFloat64)));
  });
}

// With IA and the prior, z_0 and the prior's anchor come from y's start: rank 1's own start would
// pull its z elsewhere. From rank 0's start the ranks stay bit-equal.
TEST(RankZeroStartTest, TheAnchorOfThePriorIsRankZeros) {
  TrajectorySolverOptions options = solverOptions(HypergradientOptions::Kind::Reverse);
  options.initAuxiliary = InitAuxiliaryOptions{};
  options.initAuxiliary->optimizer.lr = 0.1;
  options.prior = PriorOptions{};
  options.prior->weight = 5.0;
  std::vector<TensorList> z(2);
  onRanks(2, std::chrono::seconds(60), [&](std::shared_ptr<ProcessGroup> group) {
    auto problem = std::make_shared<RowsProblem>();
    if (group->rank() == 1) problem->lowerVariables().initial[0].fill_(3.0);
    const auto sharded = shardedProblem(problem, group);
    std::unique_ptr<Solver> solver = makeTrajectorySolver(sharded, options);
    startFromRankZero(*solver, *group);
    steps(*solver, 3);
    z[group->rank()] = solver->auxiliaryValues();
  });
  expectEqual(z[0], z[1]);
  EXPECT_GT(z[0][0].abs().max().item<double>(), 1e-3);  // z moved
}

// A resumed run: only rank 0 restores the checkpoint (the others may be on machines without its
// files), and every rank then continues exactly as the run that was never interrupted.
TEST(RankZeroStartTest, RanksContinueFromRankZerosRestoredState) {
  test::TemporaryFolder folder;
  const std::string checkpoint = folder.path("checkpoint");
  TrajectorySolverOptions options = solverOptions(HypergradientOptions::Kind::Reverse);
  options.upper.kind = OptimizerOptions::Kind::Adam;  // state beyond x and y: the moments
  std::vector<Outcome> straight(2), resumed(2);
  std::vector<int64_t> iterationAfterStart(2);
  onRanks(2, std::chrono::seconds(60), [&](std::shared_ptr<ProcessGroup> group) {
    const int rank = group->rank();
    {
      const auto sharded = shardedProblem(std::make_shared<RowsProblem>(), group);
      std::unique_ptr<Solver> solver = makeTrajectorySolver(sharded, options);
      startFromRankZero(*solver, *group);
      steps(*solver, 2);
      if (rank == 0) saveCheckpoint(*solver, checkpoint, "");
      straight[rank] = steps(*solver, 2);
    }
    const auto sharded = shardedProblem(std::make_shared<RowsProblem>(), group);
    std::unique_ptr<Solver> solver = makeTrajectorySolver(sharded, options);
    if (rank == 0) loadCheckpoint(*solver, checkpoint);
    startFromRankZero(*solver, *group);
    iterationAfterStart[rank] = solver->iteration();
    resumed[rank] = steps(*solver, 2);
  });
  for (int rank = 0; rank < 2; ++rank) {
    EXPECT_EQ(iterationAfterStart[rank], 2);
    EXPECT_TRUE(torch::equal(resumed[rank].x[0], straight[rank].x[0])) << "rank " << rank;
    EXPECT_TRUE(torch::equal(resumed[rank].y[0], straight[rank].y[0])) << "rank " << rank;
    EXPECT_EQ(resumed[rank].upper, straight[rank].upper) << "rank " << rank;
  }
}

TEST(ProcessGroupTest, SumsAndBroadcastsListsOfTensorsOfAnyShapes) {
  onRanks(2, std::chrono::seconds(60), [](std::shared_ptr<ProcessGroup> group) {
    const double r = group->rank();
    TensorList values{torch::full({2, 3}, r + 1, torch::kFloat64), torch::full({4}, 10 * (r + 1), torch::kFloat64)};
    group->sum(values);
    EXPECT_TRUE(torch::equal(values[0], torch::full({2, 3}, 3.0, torch::kFloat64)));
    EXPECT_TRUE(torch::equal(values[1], torch::full({4}, 30.0, torch::kFloat64)));
    TensorList started{torch::full({3}, r, torch::kFloat64), torch::full({1, 2}, r, torch::kFloat64)};
    group->broadcast(started);
    EXPECT_TRUE(torch::equal(started[1], torch::zeros({1, 2}, torch::kFloat64)));
    EXPECT_EQ(started[0].sizes(), (std::vector<int64_t>{3}));
    EXPECT_TRUE(group->any(r == 1));
    EXPECT_FALSE(group->any(false));
    TensorList mixed{torch::ones({1}), torch::ones({2}, torch::kFloat64), torch::ones({3})};
    const int64_t before = group->communication().collectives;
    group->sum(mixed);
    EXPECT_EQ(group->communication().collectives - before, 2);  // one per dtype
    EXPECT_TRUE(torch::equal(mixed[1], torch::full({2}, 2.0, torch::kFloat64)));
    EXPECT_TRUE(torch::equal(mixed[2], torch::full({3}, 2.0)));
  });
}

TEST(ShardedProblemTest, ABatchThatDoesNotSplitEvenlyIsRefused) {
  onRanks(3, std::chrono::seconds(60), [](std::shared_ptr<ProcessGroup> group) {
    const auto sampler = shardedProblem(std::make_shared<RowsProblem>(), group)->sampler();
    EXPECT_TRUE(test::refused([&] { sampler->next(2); }, "INVALID_ARGUMENT", "has 8 rows, which do not split evenly over 3 processes"));
  });
}

TEST(ShardedProblemTest, ARankThatStopsMakesTheOtherFailNamingItself) {
  onRanks(2, std::chrono::seconds(2), [](std::shared_ptr<ProcessGroup> group) {
    if (group->rank() == 1) return;  // leaves: its group is destroyed at once
    TensorList values{torch::ones({2})};
    EXPECT_TRUE(test::refused([&] { group->sum(values); }, "DISTRIBUTED", "rank 0 of 2: a sum over the ranks failed"));
  });
}

TEST(ProcessGroupSettingsTest, ReadsTorchrunsVariablesAndRefusesMalformedOnes) {
  const ProcessGroupSettings settings = processGroupSettings(
      {{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "10.0.0.2"}, {"MASTER_PORT", "29400"}, {"TORCHELASTIC_USE_AGENT_STORE", "True"}});
  EXPECT_EQ(settings.rank, 1);
  EXPECT_EQ(settings.worldSize, 2);
  EXPECT_EQ(settings.masterAddress, "10.0.0.2");
  EXPECT_EQ(settings.masterPort, 29400);
  EXPECT_TRUE(settings.agentStore);
  EXPECT_EQ(processGroupSettings({}).worldSize, 1);
  EXPECT_EQ(processGroupSettings({}).timeout, std::chrono::minutes(30));
  EXPECT_EQ(processGroupSettings({{"BILEVEL_DISTRIBUTED_TIMEOUT", "90"}}).timeout, std::chrono::seconds(90));
  EXPECT_TRUE(test::refused([] { processGroupSettings({{"BILEVEL_DISTRIBUTED_TIMEOUT", "0"}}); }, "INVALID_ARGUMENT",
                            "BILEVEL_DISTRIBUTED_TIMEOUT must be an integer"));
  EXPECT_TRUE(test::refused([] { processGroupSettings({{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "1"}}); }, "INVALID_ARGUMENT",
                            "RANK must be an integer in [0, 1]; got '2'"));
  EXPECT_TRUE(test::refused([] { processGroupSettings({{"WORLD_SIZE", "2"}}); }, "INVALID_ARGUMENT", "needs RANK and MASTER_PORT"));
  EXPECT_TRUE(test::refused([] { processGroupSettings({{"WORLD_SIZE", "two"}}); }, "INVALID_ARGUMENT", "WORLD_SIZE must be an integer"));
}

}  // namespace
}  // namespace bilevel::core

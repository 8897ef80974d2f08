#include "core/distributed/sharded_problem.h"

#include <algorithm>
#include <mutex>
#include <optional>

#include "core/error.h"
#include "core/models/batch_norm_statistics.h"
#include "core/unroll_scope.h"

namespace bilevel::core {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The group travels through the autograd context as its address: the graph never outlives the
// sharded problem (it lives within one solver iteration), which holds the group.
const ProcessGroup& groupAt(AutogradContext* ctx) {
  return *reinterpret_cast<const ProcessGroup*>(static_cast<intptr_t>(ctx->saved_data["group"].toInt()));
}

int64_t addressOf(const ProcessGroup& group) { return static_cast<int64_t>(reinterpret_cast<intptr_t>(&group)); }

struct Replicate;

// Forward: the sum over the ranks; backward: the identity (Replicate, so that it differentiates again).
struct SumOverRanks : torch::autograd::Function<SumOverRanks> {
  static variable_list forward(AutogradContext* ctx, at::TensorList partial, int64_t group) {
    ctx->saved_data["group"] = group;
    TensorList sums;
    sums.reserve(partial.size());
    for (const auto& t : partial) sums.push_back(t.detach().contiguous().clone());
    reinterpret_cast<const ProcessGroup*>(static_cast<intptr_t>(group))->sum(sums);
    return sums;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads);
};

// Forward: the identity; backward: the sum over the ranks (SumOverRanks).
struct Replicate : torch::autograd::Function<Replicate> {
  static variable_list forward(AutogradContext* ctx, at::TensorList values, int64_t group) {
    ctx->saved_data["group"] = group;
    variable_list out;
    out.reserve(values.size());
    for (const auto& t : values) out.push_back(t.detach().clone());
    return out;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    variable_list out = SumOverRanks::apply(at::TensorList(grads), addressOf(groupAt(ctx)));
    out.emplace_back();  // the group
    return out;
  }
};

// Forward and backward: the sum over the ranks. For sums whose result each rank uses on its own
// rows (a split batch's statistics): the gradient of every rank's use reaches every rank's input.
struct AllReduce : torch::autograd::Function<AllReduce> {
  static variable_list forward(AutogradContext* ctx, at::TensorList partial, int64_t group) {
    return SumOverRanks::forward(ctx, partial, group);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    variable_list out = AllReduce::apply(at::TensorList(grads), addressOf(groupAt(ctx)));
    out.emplace_back();
    return out;
  }
};

variable_list SumOverRanks::backward(AutogradContext* ctx, variable_list grads) {
  variable_list out = Replicate::apply(at::TensorList(grads), addressOf(groupAt(ctx)));
  out.emplace_back();
  return out;
}

// The sampler's batches, each rank keeping its contiguous share of every tensor's first dimension
// (a tensor without dimensions, such as a per-step seed, is shared whole), and knowing which share
// it holds (Batch::rowShare).
class ShardedSampler : public Sampler {
 public:
  ShardedSampler(std::unique_ptr<Sampler> sampler, int rank, int worldSize) : sampler_(std::move(sampler)), rank_(rank), worldSize_(worldSize) {}

  IterationBatches next(int64_t lowerSteps) override {
    IterationBatches batches = sampler_->next(lowerSteps);
    batches.upper = shard(batches.upper);
    for (Batch& batch : batches.lower) batch = shard(batch);
    return batches;
  }
  void save(StateWriter& writer, const std::string& prefix) const override { sampler_->save(writer, prefix); }
  Commit load(StateReader& reader, const std::string& prefix) override { return sampler_->load(reader, prefix); }

 private:
  Batch shard(const Batch& batch) const {
    std::vector<std::pair<std::string, torch::Tensor>> shares;
    for (const auto& [name, tensor] : batch.tensors()) {
      if (tensor.dim() == 0) {
        shares.emplace_back(name, tensor);
        continue;
      }
      const int64_t rows = tensor.size(0);
      if (rows % worldSize_ != 0) {
        throw Error("INVALID_ARGUMENT", "the batch's '" + name + "' has " + std::to_string(rows) + " rows, which do not split evenly over " +
                                            std::to_string(worldSize_) + " processes: choose a batch size divisible by the number of processes");
      }
      const int64_t share = rows / worldSize_;
      shares.emplace_back(name, tensor.narrow(0, rank_ * share, share));
    }
    return Batch(std::move(shares), RowShare{rank_, worldSize_});
  }

  std::unique_ptr<Sampler> sampler_;
  int rank_;
  int worldSize_;
};

// The problem's variables, their starting values copied: startFromRankZero overwrites them.
Variables startsOwned(const Variables& variables) { return Variables{cloned(variables.initial), variables.sets}; }

class ShardedProblem : public Problem {
 public:
  ShardedProblem(std::shared_ptr<Problem> problem, std::shared_ptr<const ProcessGroup> group)
      : Problem(startsOwned(problem->upperVariables()), startsOwned(problem->lowerVariables())),
        problem_(std::move(problem)),
        group_(std::move(group)),
        rows_(problem_->batchRows()) {
    if (rows_.lowerPerRow) {
      for (const torch::Tensor& t : lowerVariables().initial) {
        if (t.dim() == 0 || t.size(0) % group_->worldSize() != 0) {
          throw Error("INVALID_ARGUMENT", "y has a slice per task of the meta-batch (" + std::to_string(t.dim() == 0 ? 0 : t.size(0)) +
                                              "), which does not split evenly over " + std::to_string(group_->worldSize()) +
                                              " processes: choose a meta-batch divisible by the number of processes");
        }
      }
    }
  }

  TensorList lowerGradient(const TensorList& x, const TensorList& y, const Batch& batch, bool createGraph) override {
    return gradient(false, x, y, batch, createGraph);
  }
  TensorList upperGradient(const TensorList& x, const TensorList& y, const Batch& batch, bool createGraph) override {
    return gradient(true, x, y, batch, createGraph);
  }
  std::unique_ptr<Sampler> sampler() const override {
    std::unique_ptr<Sampler> sampler = problem_->sampler();
    return sampler ? std::make_unique<ShardedSampler>(std::move(sampler), group_->rank(), group_->worldSize()) : nullptr;
  }
  bool anyThread() const override { return problem_->anyThread(); }
  BatchRows batchRows() const override { return rows_; }
  std::vector<std::pair<std::string, torch::Tensor>> data() const override { return problem_->data(); }

 protected:
  torch::Tensor evaluateUpper(const TensorList& x, const TensorList& y, const Batch& batch) override { return evaluate(true, x, y, batch); }
  torch::Tensor evaluateLower(const TensorList& x, const TensorList& y, const Batch& batch) override { return evaluate(false, x, y, batch); }

 private:
  torch::Tensor objective(bool upper, const TensorList& x, const TensorList& y, const Batch& batch) const {
    return upper ? problem_->upperObjective(x, y, batch) : problem_->lowerObjective(x, y, batch);
  }

  // x and y through Replicate. Within an unroll x is fixed: every LL step shares one replicated x
  // (its backward sum then runs once for all steps, and what a problem caches per unroll for the
  // same x tensors, the few-shot backbone's features, is found again). Outside one, x and y go
  // through one Replicate, so that their backward sums go as one collective.
  std::pair<TensorList, TensorList> replicatedBoth(const TensorList& x, const TensorList& y) const {
    const uint64_t unroll = UnrollScope::current();
    if (unroll != 0) return {replicatedInUnroll(x, unroll), replicated(y, group_)};
    TensorList both = x;
    both.insert(both.end(), y.begin(), y.end());
    both = replicated(both, group_);
    return {TensorList(both.begin(), both.begin() + static_cast<int64_t>(x.size())), TensorList(both.begin() + static_cast<int64_t>(x.size()), both.end())};
  }

  TensorList replicatedInUnroll(const TensorList& x, uint64_t unroll) const {
    const bool history = torch::GradMode::is_enabled() && std::any_of(x.begin(), x.end(), [](const torch::Tensor& t) {
                           return t.requires_grad();
                         });
    std::lock_guard<std::mutex> lock(upperMutex_);
    if (upper_.unroll != unroll || !upper_.x.are(x) || (history && !upper_.history)) {
      upper_ = ReplicatedUpper{unroll, SeenTensors(x), history, replicated(x, group_)};
    }
    return upper_.replicated;
  }

  // Where the rows are a mean's, batch norms over them take the whole batch's statistics.
  std::optional<models::SplitBatchScope> splitBatch() const {
    if (rows_.lowerPerRow) return std::nullopt;  // a task's rows stay on one rank
    const std::shared_ptr<const ProcessGroup> group = group_;
    return std::make_optional<models::SplitBatchScope>(
        [group](const TensorList& partial) { return TensorList(AllReduce::apply(at::TensorList(partial), addressOf(*group))); },
        group_->worldSize());
  }

  torch::Tensor evaluate(bool upper, const TensorList& x, const TensorList& y, const Batch& batch) const {
    if (batch.empty()) return objective(upper, x, y, batch);
    const auto split = splitBatch();
    const auto [inX, inY] = replicatedBoth(x, y);
    const torch::Tensor share = objective(upper, inX, ownRows(inY), batch);
    return combined(sumOverRanks({share}, group_))[0];
  }

  TensorList gradient(bool upper, const TensorList& x, const TensorList& y, const Batch& batch, bool createGraph) const {
    if (batch.empty()) return upper ? problem_->upperGradient(x, y, batch, createGraph) : problem_->lowerGradient(x, y, batch, createGraph);
    const auto split = splitBatch();
    const auto [inX, inY] = createGraph ? replicatedBoth(x, y) : std::pair(x, y);
    const TensorList own = ownRows(inY);
    const TensorList shares = upper ? problem_->upperGradient(inX, own, batch, createGraph) : problem_->lowerGradient(inX, own, batch, createGraph);
    return combined(sumOverRanks(inPlace(shares, y), group_));
  }

  // The sums over the ranks as the problem combines its rows: as they are, or their mean.
  TensorList combined(TensorList sums) const {
    if (!rows_.summed) {
      for (auto& t : sums) t = t / group_->worldSize();
    }
    return sums;
  }

  // This rank's rows of y where y has a slice per row of the batch, else y.
  TensorList ownRows(const TensorList& y) const {
    if (!rows_.lowerPerRow) return y;
    TensorList own;
    for (const torch::Tensor& t : y) {
      const int64_t share = t.size(0) / group_->worldSize();
      own.push_back(t.narrow(0, group_->rank() * share, share));
    }
    return own;
  }

  // Gradients in this rank's rows of y placed in y's shapes, the other ranks' rows zero (the sum
  // over the ranks then fills them); as they are where y has no rows.
  TensorList inPlace(const TensorList& shares, const TensorList& y) const {
    if (!rows_.lowerPerRow) return shares;
    TensorList full;
    for (size_t i = 0; i < shares.size(); ++i) {
      const int64_t before = group_->rank() * shares[i].size(0), after = y[i].size(0) - before - shares[i].size(0);
      const auto zeros = [&](int64_t rows) {
        std::vector<int64_t> shape = shares[i].sizes().vec();
        shape[0] = rows;
        return torch::zeros(shape, shares[i].options());
      };
      full.push_back(torch::cat({zeros(before), shares[i], zeros(after)}));
    }
    return full;
  }

  std::shared_ptr<Problem> problem_;
  std::shared_ptr<const ProcessGroup> group_;
  BatchRows rows_;
  // The replicated x of the current unroll.
  struct ReplicatedUpper {
    uint64_t unroll = 0;
    SeenTensors x;
    bool history = false;
    TensorList replicated;
  };
  mutable std::mutex upperMutex_;  // two solvers may run on one problem at once
  mutable ReplicatedUpper upper_;
};

}  // namespace

TensorList sumOverRanks(const TensorList& partial, const std::shared_ptr<const ProcessGroup>& group) {
  // As an ArrayRef: a vector would count as one argument that is not a tensor.
  return SumOverRanks::apply(at::TensorList(partial), addressOf(*group));
}

TensorList replicated(const TensorList& values, const std::shared_ptr<const ProcessGroup>& group) {
  return Replicate::apply(at::TensorList(values), addressOf(*group));
}

std::shared_ptr<Problem> shardedProblem(std::shared_ptr<Problem> problem, std::shared_ptr<const ProcessGroup> group) {
  if (group->worldSize() == 1) return problem;
  return std::make_shared<ShardedProblem>(std::move(problem), std::move(group));
}

}  // namespace bilevel::core

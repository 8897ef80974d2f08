#include "core/distributed/sharded_problem.h"

#include "core/error.h"

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

variable_list SumOverRanks::backward(AutogradContext* ctx, variable_list grads) {
  variable_list out = Replicate::apply(at::TensorList(grads), addressOf(groupAt(ctx)));
  out.emplace_back();
  return out;
}

// The sampler's batches, each rank keeping its contiguous share of every tensor's first dimension
// (a tensor without dimensions, such as a per-step seed, is shared whole).
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
    return Batch(std::move(shares));
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
        group_(std::move(group)) {}

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
  std::vector<std::pair<std::string, torch::Tensor>> data() const override { return problem_->data(); }

 protected:
  torch::Tensor evaluateUpper(const TensorList& x, const TensorList& y, const Batch& batch) override { return evaluate(true, x, y, batch); }
  torch::Tensor evaluateLower(const TensorList& x, const TensorList& y, const Batch& batch) override { return evaluate(false, x, y, batch); }

 private:
  torch::Tensor objective(bool upper, const TensorList& x, const TensorList& y, const Batch& batch) const {
    return upper ? problem_->upperObjective(x, y, batch) : problem_->lowerObjective(x, y, batch);
  }

  // The mean over the ranks' shares of a sharded batch, or the problem's own value on the full data.
  // x and y through one Replicate: their backward sums go as one collective.
  std::pair<TensorList, TensorList> replicatedBoth(const TensorList& x, const TensorList& y) const {
    TensorList both = x;
    both.insert(both.end(), y.begin(), y.end());
    both = replicated(both, group_);
    return {TensorList(both.begin(), both.begin() + static_cast<int64_t>(x.size())), TensorList(both.begin() + static_cast<int64_t>(x.size()), both.end())};
  }

  torch::Tensor evaluate(bool upper, const TensorList& x, const TensorList& y, const Batch& batch) const {
    if (batch.empty()) return objective(upper, x, y, batch);
    const auto [inX, inY] = replicatedBoth(x, y);
    const torch::Tensor share = objective(upper, inX, inY, batch);
    return sumOverRanks({share}, group_)[0] / group_->worldSize();
  }

  TensorList gradient(bool upper, const TensorList& x, const TensorList& y, const Batch& batch, bool createGraph) const {
    if (batch.empty()) return upper ? problem_->upperGradient(x, y, batch, createGraph) : problem_->lowerGradient(x, y, batch, createGraph);
    const auto [inX, inY] = createGraph ? replicatedBoth(x, y) : std::pair(x, y);
    TensorList shares = upper ? problem_->upperGradient(inX, inY, batch, createGraph) : problem_->lowerGradient(inX, inY, batch, createGraph);
    TensorList sums = sumOverRanks(shares, group_);
    for (auto& g : sums) g = g / group_->worldSize();
    return sums;
  }

  std::shared_ptr<Problem> problem_;
  std::shared_ptr<const ProcessGroup> group_;
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

// The heads layout (docs/algorithms.md §13.3-13.4): x = the backbone, y = one linear head per task,
// {W [B, N, D], b [B, N]}, from zero. The backbone is fixed within an unroll, so its features of
// the unroll's images are computed once and reused by every LL step and by F.
#include <algorithm>
#include <mutex>

#include "core/data/generator_stream.h"
#include "core/tasks/few_shot/episodic_problem.h"
#include "core/unroll_scope.h"

namespace bilevel::core {
namespace {

class HeadsProblem : public EpisodicProblem {
 public:
  using EpisodicProblem::EpisodicProblem;

 protected:
  torch::Tensor logits(const TensorList& x, const TensorList& y, const torch::Tensor& images) override {
    return torch::baddbmm(y[1].unsqueeze(1), features(x, images), y[0].transpose(1, 2));
  }
  std::pair<torch::Tensor, torch::Tensor> heads(const TensorList&, const TensorList& y) const override { return {y[0], y[1]}; }

 private:
  // What one unroll derived from x: the features [B, n, D] of each set of images it was asked for.
  struct FeatureCache {
    uint64_t unroll = 0;
    SeenTensors x;
    bool history = false;
    std::vector<std::pair<torch::Tensor, torch::Tensor>> sets;  // (images, features)
  };

  // Each task's features: the backbone on each task's images separately.
  torch::Tensor embedTasks(const TensorList& x, const torch::Tensor& images) const {
    std::vector<torch::Tensor> perTask;
    for (int64_t j = 0; j < images.size(0); ++j) perTask.push_back(embed(x, images[j]));
    return torch::stack(perTask);
  }

  // The features of a set of images [B, n, C, S, S] at x: within one unroll (core/unroll_scope.h)
  // computed once for the same x tensors (same version) and images, with history whenever this call
  // could differentiate through them; outside any unroll, computed afresh.
  torch::Tensor features(const TensorList& x, const torch::Tensor& images) {
    const bool history = torch::GradMode::is_enabled() && std::any_of(x.begin(), x.end(), [](const torch::Tensor& t) {
                           return t.requires_grad();
                         });
    const uint64_t unroll = UnrollScope::current();
    std::lock_guard<std::mutex> lock(cacheMutex_);
    const bool sameUnroll = unroll != 0 && unroll == cache_.unroll && cache_.x.are(x) && (cache_.history || !history);
    if (sameUnroll) {
      for (const auto& [set, computed] : cache_.sets) {
        if (set.unsafeGetTensorImpl() == images.unsafeGetTensorImpl()) return computed;
      }
    } else {
      // A new unroll (or none): what the last one derived is let go.
      cache_ = FeatureCache{unroll, SeenTensors(unroll == 0 ? TensorList{} : x), history, {}};
    }
    torch::Tensor computed = embedTasks(x, images);
    if (unroll != 0) cache_.sets.emplace_back(images, computed);
    return computed;
  }

  std::mutex cacheMutex_;  // two solvers may run on one problem at once
  FeatureCache cache_;
};

}  // namespace

std::shared_ptr<Problem> headsProblem(EpisodicData data, const FewShotOptions& o) {
  const auto options = torch::TensorOptions().dtype(o.dtype).device(o.device);
  at::Generator init = generatorStream(static_cast<uint64_t>(o.seed), "init");
  Variables upper{data.backbone->initialize(init, options), {}};
  const int64_t features = backboneFeatures(o);
  Variables lower{{torch::zeros({o.metaBatch, o.ways, features}, options), torch::zeros({o.metaBatch, o.ways}, options)}, {}};
  return std::make_shared<HeadsProblem>(std::move(upper), std::move(lower), std::move(data), o);
}

}  // namespace bilevel::core

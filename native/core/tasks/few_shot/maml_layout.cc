// MAML's layout (docs/algorithms.md §13.6): x = the initialization of the whole network (backbone
// and a head {W0 [N, D], b0 [N]}), y = each task's offset from it, one per tensor of x with the
// meta-batch in front, from zero. The LL's gd on the offsets is MAML's inner loop (task j's network
// is x + y_j), and a hypergradient through it is MAML's meta-gradient (first order: FOMAML). The
// backbone changes at every LL step here, so nothing is cached.
#include "core/data/generator_stream.h"
#include "core/tasks/few_shot/episodic_problem.h"

namespace bilevel::core {
namespace {

class MamlProblem : public EpisodicProblem {
 public:
  using EpisodicProblem::EpisodicProblem;

 protected:
  torch::Tensor logits(const TensorList& x, const TensorList& y, const torch::Tensor& images) override {
    const size_t backboneSize = x.size() - 2;
    std::vector<torch::Tensor> perTask;
    for (int64_t j = 0; j < images.size(0); ++j) {
      TensorList network;
      for (size_t i = 0; i < x.size(); ++i) network.push_back(x[i] + y[i][j]);
      const TensorList backbone(network.begin(), network.begin() + static_cast<std::ptrdiff_t>(backboneSize));
      perTask.push_back(torch::addmm(network[backboneSize + 1], embed(backbone, images[j]), network[backboneSize].t()));
    }
    return torch::stack(perTask);
  }

  std::pair<torch::Tensor, torch::Tensor> heads(const TensorList& x, const TensorList& y) const override {
    const size_t head = x.size() - 2;
    return {x[head] + y[head], x[head + 1] + y[head + 1]};
  }
};

}  // namespace

std::shared_ptr<Problem> mamlProblem(EpisodicData data, const FewShotOptions& o) {
  const auto options = torch::TensorOptions().dtype(o.dtype).device(o.device);
  // The whole network as one model, so its head starts as torch.nn.Linear's, from the same stream.
  const auto network = backboneNetwork(o, data.backbone->inputShape()[0], o.ways);
  at::Generator init = generatorStream(static_cast<uint64_t>(o.seed), "init");
  Variables upper{network->initialize(init, options), {}};
  TensorList offsets;
  for (const torch::Tensor& t : upper.initial) {
    std::vector<int64_t> shape{o.metaBatch};
    shape.insert(shape.end(), t.sizes().begin(), t.sizes().end());
    offsets.push_back(torch::zeros(shape, options));
  }
  return std::make_shared<MamlProblem>(std::move(upper), Variables{std::move(offsets), {}}, std::move(data), o);
}

}  // namespace bilevel::core

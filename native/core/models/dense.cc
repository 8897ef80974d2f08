#include "core/models/dense.h"

#include "core/error.h"

namespace bilevel::core::models {
namespace {

class Mlp : public Model {
 public:
  // prefixes: one per layer, naming its parameters.
  Mlp(const std::vector<int64_t>& widths, const std::vector<std::string>& prefixes, Activation activation, Init init)
      : Model(layout(widths, prefixes, init), {widths.front()}), activation_(activation) {}

 protected:
  torch::Tensor run(const TensorList& params, const torch::Tensor& input) const override {
    torch::Tensor x = linearLayer(input, params[0], params[1]);
    for (size_t i = 2; i < params.size(); i += 2) x = linearLayer(activation_(x), params[i], params[i + 1]);
    return x;
  }

 private:
  static std::vector<ParameterSpec> layout(const std::vector<int64_t>& widths, const std::vector<std::string>& prefixes,
                                           Init init) {
    std::vector<ParameterSpec> specs;
    for (size_t layer = 0; layer < prefixes.size(); ++layer) {
      for (ParameterSpec& spec : linearParameters(prefixes[layer], widths[layer], widths[layer + 1], init)) {
        specs.push_back(std::move(spec));
      }
    }
    return specs;
  }

  Activation activation_;
};

}  // namespace

std::shared_ptr<const Model> linear(int64_t in, int64_t out, Init init) {
  if (in < 1 || out < 1) throw Error("INVALID_ARGUMENT", "linear: in and out must be >= 1; got " + std::to_string(in) + ", " + std::to_string(out));
  // One layer: the activation never runs.
  return std::make_shared<Mlp>(std::vector<int64_t>{in, out}, std::vector<std::string>{""}, Activation::relu(), init);
}

std::shared_ptr<const Model> mlp(const std::vector<int64_t>& widths, Activation activation, Init init) {
  if (widths.size() < 2) throw Error("INVALID_ARGUMENT", "mlp: widths must list the input and output widths at least");
  std::vector<std::string> prefixes;
  for (size_t i = 0; i < widths.size(); ++i) {
    if (widths[i] < 1) throw Error("INVALID_ARGUMENT", "mlp: widths[" + std::to_string(i) + "] must be >= 1; got " + std::to_string(widths[i]));
    if (i > 0) prefixes.push_back("layer" + std::to_string(i));
  }
  return std::make_shared<Mlp>(widths, prefixes, activation, init);
}

}  // namespace bilevel::core::models

// A functional model: a parameter layout (names, shapes, how each starts) and a pure forward of
// the parameters and an input. The parameters are a plain TensorList the caller owns, so the same
// model serves as a bilevel problem's lower-level variables and is differentiable in them.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/tensor_list.h"

namespace bilevel::core::models {

// How a parameter starts.
enum class Init {
  Zeros,
  // U(-1/sqrt(fanIn), 1/sqrt(fanIn)): torch.nn.Linear's and torch.nn.Conv2d's default for weight and bias.
  LinearDefault,
  Ones,
};

struct ParameterSpec {
  std::string name;  // e.g. "block1.conv.weight"
  std::vector<int64_t> shape;
  Init init;
  int64_t fanIn;  // the bound's 1/sqrt(fanIn) for LinearDefault; unused otherwise
};

// Appends more to specs: layouts are built block by block.
inline void appendSpecs(std::vector<ParameterSpec>& specs, const std::vector<ParameterSpec>& more) {
  specs.insert(specs.end(), more.begin(), more.end());
}

class Model {
 public:
  virtual ~Model() = default;

  // The parameters, in the order forward takes them.
  const std::vector<ParameterSpec>& layout() const { return layout_; }
  // The input's shape without its leading batch dimension.
  const std::vector<int64_t>& inputShape() const { return inputShape_; }

  // Starting values in layout order. Random ones are drawn from gen in float64 on the CPU, one
  // parameter after the other, and then converted to options, so a seed gives the same numbers
  // on every device and dtype; Zeros and Ones draw nothing.
  TensorList initialize(at::Generator& gen, const torch::TensorOptions& options) const;

  // The model's output for a batch of inputs [B, inputShape...], differentiable in params and
  // input. Refused: a parameter count or shape other than the layout's, an input shape other than
  // inputShape (SHAPE_MISMATCH), a parameter of another dtype (DTYPE) or device (DEVICE) than the input.
  torch::Tensor forward(const TensorList& params, const torch::Tensor& input) const;

 protected:
  Model(std::vector<ParameterSpec> layout, std::vector<int64_t> inputShape);
  // forward once the parameters and input are checked.
  virtual torch::Tensor run(const TensorList& params, const torch::Tensor& input) const = 0;
  // What forward refuses, for a subclass's other entry points.
  void check(const TensorList& params, const torch::Tensor& input) const;

 private:

  std::vector<ParameterSpec> layout_;
  std::vector<int64_t> inputShape_;
};

}  // namespace bilevel::core::models

#include "core/models/darts/operations.h"

#include "core/error.h"
#include "core/models/layers.h"

namespace bilevel::core::models::darts {
namespace {

struct ConvolutionShape {
  int64_t kernel;
  int64_t dilation;
};

ConvolutionShape convolutionOf(Operation op) {
  switch (op) {
    case Operation::SepConv5x5:
      return {5, 1};
    case Operation::DilConv3x3:
      return {3, 2};
    case Operation::DilConv5x5:
      return {5, 2};
    default:
      return {3, 1};
  }
}

// Padding that keeps the image's size at stride 1 (and gives ceil(H / 2) at stride 2).
int64_t samePadding(const ConvolutionShape& c) { return c.dilation * (c.kernel - 1) / 2; }

std::vector<ParameterSpec> normParameters(const std::string& prefix, int64_t channels, bool affine) {
  return affine ? batchNormParameters(prefix, channels) : std::vector<ParameterSpec>{};
}

torch::Tensor norm(const torch::Tensor& input, ParameterCursor& params, bool affine) {
  if (!affine) return batchNorm(input, torch::Tensor(), torch::Tensor());
  const torch::Tensor& weight = params.next();
  return batchNorm(input, weight, params.next());
}

// A depthwise convolution (one filter per channel) and a pointwise one, as DARTS's separable and
// dilated convolutions are built.
std::vector<ParameterSpec> depthwisePointwiseParameters(const std::string& prefix, int64_t channels, int64_t kernel) {
  std::vector<ParameterSpec> specs = conv2dParameters(prefix + ".depthwise", channels, channels, kernel, false, channels);
  appendSpecs(specs, conv2dParameters(prefix + ".pointwise", channels, channels, 1, false));
  return specs;
}

torch::Tensor depthwisePointwise(const torch::Tensor& input, ParameterCursor& params, const ConvolutionShape& c, int64_t stride) {
  const torch::Tensor& depthwise = params.next();
  const torch::Tensor spread =
      conv2d(input, depthwise, torch::Tensor(), {stride, samePadding(c), c.dilation, /*groups=*/input.size(1)});
  return conv2d(spread, params.next(), torch::Tensor());
}

bool isSeparable(Operation op) { return op == Operation::SepConv3x3 || op == Operation::SepConv5x5; }
bool isDilated(Operation op) { return op == Operation::DilConv3x3 || op == Operation::DilConv5x5; }

void checkEdge(Operation op, const EdgeShape& edge) {
  if (edge.channels < 1) throw Error("INVALID_ARGUMENT", operationName(op) + ": channels must be >= 1");
  if (edge.stride != 1 && edge.stride != 2) {
    throw Error("INVALID_ARGUMENT", operationName(op) + ": stride must be 1 or 2; got " + std::to_string(edge.stride));
  }
}

}  // namespace

const std::string& operationName(Operation op) {
  static const std::array<std::string, kOperations.size()> names = {
      "none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5",
  };
  return names.at(static_cast<size_t>(op));
}

Operation operationNamed(const std::string& name) {
  std::string known;
  for (const Operation op : kOperations) {
    if (operationName(op) == name) return op;
    known += (known.empty() ? "" : ", ") + operationName(op);
  }
  throw Error("INVALID_ARGUMENT", "'" + name + "' is not an operation of the DARTS space (" + known + ")");
}

std::vector<ParameterSpec> operationParameters(Operation op, const std::string& prefix, const EdgeShape& edge) {
  checkEdge(op, edge);
  const int64_t c = edge.channels;
  std::vector<ParameterSpec> specs;
  if (op == Operation::SkipConnect && edge.stride == 2) return factorizedReduceParameters(prefix, c, c, edge.affine);
  if (isSeparable(op)) {
    for (const std::string half : {"1", "2"}) {
      appendSpecs(specs, depthwisePointwiseParameters(prefix + ".conv" + half, c, convolutionOf(op).kernel));
      appendSpecs(specs, normParameters(prefix + ".norm" + half, c, edge.affine));
    }
  } else if (isDilated(op)) {
    appendSpecs(specs, depthwisePointwiseParameters(prefix + ".conv", c, convolutionOf(op).kernel));
    appendSpecs(specs, normParameters(prefix + ".norm", c, edge.affine));
  }
  return specs;
}

torch::Tensor applyOperation(Operation op, const torch::Tensor& input, ParameterCursor& params, const EdgeShape& edge) {
  const int64_t stride = edge.stride;
  switch (op) {
    case Operation::None: {
      // What DARTS's Zero returns: the strided image times 0 (no graph: nothing flows through it).
      return torch::zeros_like(input.slice(2, 0, c10::nullopt, stride).slice(3, 0, c10::nullopt, stride));
    }
    case Operation::MaxPool3x3:
      return maxPool2d(input, 3, stride, 1);
    case Operation::AvgPool3x3:
      return avgPool2d(input, 3, stride, 1, /*countPadding=*/false);
    case Operation::SkipConnect:
      return stride == 1 ? input : factorizedReduce(input, params, edge.affine);
    case Operation::SepConv3x3:
    case Operation::SepConv5x5: {
      const ConvolutionShape c = convolutionOf(op);
      const torch::Tensor half = norm(depthwisePointwise(torch::relu(input), params, c, stride), params, edge.affine);
      return norm(depthwisePointwise(torch::relu(half), params, c, 1), params, edge.affine);
    }
    case Operation::DilConv3x3:
    case Operation::DilConv5x5:
      return norm(depthwisePointwise(torch::relu(input), params, convolutionOf(op), stride), params, edge.affine);
  }
  throw Error("INTERNAL", "applyOperation: an operation without a case");
}

std::vector<ParameterSpec> reluConvNormParameters(const std::string& prefix, int64_t in, int64_t out, int64_t kernel, bool affine) {
  std::vector<ParameterSpec> specs = conv2dParameters(prefix + ".conv", in, out, kernel, false);
  appendSpecs(specs, normParameters(prefix + ".norm", out, affine));
  return specs;
}

torch::Tensor reluConvNorm(const torch::Tensor& input, ParameterCursor& params, int64_t stride, bool affine) {
  const torch::Tensor& weight = params.next();
  const torch::Tensor convolved = conv2d(torch::relu(input), weight, torch::Tensor(), {stride, (weight.size(-1) - 1) / 2});
  return norm(convolved, params, affine);
}

std::vector<ParameterSpec> factorizedReduceParameters(const std::string& prefix, int64_t in, int64_t out, bool affine) {
  if (out % 2 != 0) throw Error("INVALID_ARGUMENT", prefix + ": a factorized reduction needs an even channel count; got " + std::to_string(out));
  std::vector<ParameterSpec> specs = conv2dParameters(prefix + ".conv1", in, out / 2, 1, false);
  appendSpecs(specs, conv2dParameters(prefix + ".conv2", in, out / 2, 1, false));
  appendSpecs(specs, normParameters(prefix + ".norm", out, affine));
  return specs;
}

torch::Tensor factorizedReduce(const torch::Tensor& input, ParameterCursor& params, bool affine) {
  const torch::Tensor activated = torch::relu(input);
  const torch::Tensor& first = params.next();
  const torch::Tensor even = conv2d(activated, first, torch::Tensor(), {/*stride=*/2});
  const torch::Tensor odd = conv2d(activated.slice(2, 1).slice(3, 1), params.next(), torch::Tensor(), {/*stride=*/2});
  return norm(torch::cat({even, odd}, 1), params, affine);
}

}  // namespace bilevel::core::models::darts

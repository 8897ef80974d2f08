#include "core/models/res_net12.h"

#include <algorithm>

#include "core/error.h"
#include "core/models/layers.h"

namespace bilevel::core::models {
namespace {

constexpr int kBlocks = 4;
constexpr int kConvolutions = 3;  // on the residual path of a block
// Parameters per block: for each convolution and for the shortcut, a conv weight and the norm's weight and bias.
constexpr int kBlockParameters = 3 * (kConvolutions + 1);
const Conv2dOptions kSamePadding{/*stride=*/1, /*padding=*/1};

class ResNet12 : public Model {
 public:
  ResNet12(int64_t inChannels, int64_t imageSize, int64_t classes, const ResNet12Options& options)
      : Model(layout(inChannels, imageSize, classes, options), {inChannels, imageSize, imageSize}), options_(options) {}

 protected:
  torch::Tensor run(const TensorList& params, const torch::Tensor& input) const override {
    const Activation activation = Activation::leakyRelu(options_.slope);
    torch::Tensor x = input;
    for (int block = 0; block < kBlocks; ++block) {
      const auto p = params.begin() + block * kBlockParameters;
      torch::Tensor residual = x;
      for (int conv = 0; conv < kConvolutions; ++conv) {
        const auto q = p + 3 * conv;
        residual = batchNorm(conv2d(residual, q[0], torch::Tensor(), kSamePadding), q[1], q[2]);
        if (conv + 1 < kConvolutions) residual = activation(residual);
      }
      const auto s = p + 3 * kConvolutions;
      const torch::Tensor shortcut = batchNorm(conv2d(x, s[0], torch::Tensor()), s[1], s[2]);
      x = maxPool2d(activation(residual + shortcut), 2);
    }
    const size_t head = kBlocks * kBlockParameters;
    if (params.size() == head) return x.flatten(1);
    return linearLayer(x.flatten(1), params[head], params[head + 1]);
  }

 private:
  static std::vector<ParameterSpec> layout(int64_t inChannels, int64_t imageSize, int64_t classes,
                                           const ResNet12Options& options) {
    std::vector<ParameterSpec> specs;
    const auto append = [&specs](std::vector<ParameterSpec> more) { specs.insert(specs.end(), more.begin(), more.end()); };
    int64_t in = inChannels;
    for (int block = 0; block < kBlocks; ++block) {
      const std::string prefix = "block" + std::to_string(block + 1);
      const int64_t width = options.widths[static_cast<size_t>(block)];
      for (int conv = 1; conv <= kConvolutions; ++conv) {
        append(conv2dParameters(prefix + ".conv" + std::to_string(conv), conv == 1 ? in : width, width, 3, false));
        append(batchNormParameters(prefix + ".norm" + std::to_string(conv), width));
      }
      append(conv2dParameters(prefix + ".shortcut.conv", in, width, 1, false));
      append(batchNormParameters(prefix + ".shortcut.norm", width));
      in = width;
    }
    if (classes > 0) append(linearParameters("head", resNet12Features(imageSize, options), classes, Init::LinearDefault));
    return specs;
  }

  ResNet12Options options_;
};

}  // namespace

int64_t resNet12Features(int64_t imageSize, const ResNet12Options& options) {
  int64_t side = imageSize;
  for (int block = 0; block < kBlocks; ++block) side /= 2;  // the pooling floors odd sides
  return options.widths[kBlocks - 1] * side * side;
}

std::shared_ptr<const Model> resNet12(int64_t inChannels, int64_t imageSize, int64_t classes, const ResNet12Options& options) {
  const bool widthsPositive = std::all_of(options.widths.begin(), options.widths.end(), [](int64_t w) { return w >= 1; });
  if (inChannels < 1 || !widthsPositive || classes < 0) {
    throw Error("INVALID_ARGUMENT", "resNet12: inChannels and every width must be >= 1, classes >= 0");
  }
  if (imageSize < 16) throw Error("INVALID_ARGUMENT", "resNet12: imageSize must be >= 16 (four halvings); got " + std::to_string(imageSize));
  return std::make_shared<ResNet12>(inChannels, imageSize, classes, options);
}

}  // namespace bilevel::core::models

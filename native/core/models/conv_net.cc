#include "core/models/conv_net.h"

#include "core/error.h"
#include "core/models/layers.h"

namespace bilevel::core::models {
namespace {

constexpr int kBlocks = 4;
// Parameters per block: conv weight and bias, norm weight and bias.
constexpr int kBlockParameters = 4;
// 3x3 convolutions that keep the image's size.
const Conv2dOptions kSamePadding{/*stride=*/1, /*padding=*/1};

class ConvNet4 : public Model {
 public:
  ConvNet4(int64_t inChannels, int64_t channels, int64_t imageSize, int64_t classes)
      : Model(layout(inChannels, channels, imageSize, classes), {inChannels, imageSize, imageSize}) {}

 protected:
  torch::Tensor run(const TensorList& params, const torch::Tensor& input) const override {
    torch::Tensor x = input;
    for (int block = 0; block < kBlocks; ++block) {
      const auto p = params.begin() + block * kBlockParameters;
      x = conv2d(x, p[0], p[1], kSamePadding);
      x = maxPool2d(torch::relu(batchNorm(x, p[2], p[3])), 2);
    }
    const size_t head = kBlocks * kBlockParameters;
    if (params.size() == head) return x.flatten(1);
    return linearLayer(x.flatten(1), params[head], params[head + 1]);
  }

 private:
  static std::vector<ParameterSpec> layout(int64_t inChannels, int64_t channels, int64_t imageSize, int64_t classes) {
    std::vector<ParameterSpec> specs;
    const auto append = [&specs](std::vector<ParameterSpec> more) { specs.insert(specs.end(), more.begin(), more.end()); };
    for (int block = 1; block <= kBlocks; ++block) {
      const std::string prefix = "block" + std::to_string(block);
      append(conv2dParameters(prefix + ".conv", block == 1 ? inChannels : channels, channels, 3, true));
      append(batchNormParameters(prefix + ".norm", channels));
    }
    if (classes > 0) append(linearParameters("head", convNet4Features(channels, imageSize), classes, Init::LinearDefault));
    return specs;
  }
};

}  // namespace

int64_t convNet4Features(int64_t channels, int64_t imageSize) {
  int64_t side = imageSize;
  for (int block = 0; block < kBlocks; ++block) side /= 2;  // the pooling floors odd sides
  return channels * side * side;
}

std::shared_ptr<const Model> convNet4(int64_t inChannels, int64_t channels, int64_t imageSize, int64_t classes) {
  if (inChannels < 1 || channels < 1 || classes < 0) {
    throw Error("INVALID_ARGUMENT", "convNet4: inChannels and channels must be >= 1, classes >= 0");
  }
  if (imageSize < 16) throw Error("INVALID_ARGUMENT", "convNet4: imageSize must be >= 16 (four halvings); got " + std::to_string(imageSize));
  return std::make_shared<ConvNet4>(inChannels, channels, imageSize, classes);
}

}  // namespace bilevel::core::models

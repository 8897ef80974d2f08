#include "core/tasks/nas/image_split.h"

namespace bilevel::core {

namespace F = torch::nn::functional;

ImageSplit takeImages(const LabeledImages& data, const torch::Tensor& rows, torch::Dtype dtype, torch::Device device) {
  torch::Tensor images = data.images.index_select(0, rows).to(torch::TensorOptions().dtype(dtype).device(device)) / 255.0;
  if (images.dim() == 3) images = F::pad(images.unsqueeze(1), F::PadFuncOptions({2, 2, 2, 2}));
  return {images, data.labels.index_select(0, rows).to(device)};
}

ImageSplit headOf(const ImageSplit& split, int64_t rows) { return {split.images.slice(0, 0, rows), split.labels.slice(0, 0, rows)}; }

void normalizeByFirst(const std::vector<ImageSplit*>& splits) {
  const torch::Tensor& reference = splits.front()->images;
  const torch::Tensor mean = reference.mean({0, 2, 3}, true);
  const torch::Tensor std = reference.std({0, 2, 3}, true, true).clamp_min(1e-6);
  for (ImageSplit* split : splits) split->images = (split->images - mean) / std;
}

}  // namespace bilevel::core

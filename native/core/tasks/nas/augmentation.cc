#include "core/tasks/nas/augmentation.h"

namespace bilevel::core {
namespace {

namespace F = torch::nn::functional;

// Each image's window of the padded batch, at offsets drawn in [0, 2 * padding].
torch::Tensor randomCrop(const torch::Tensor& images, int64_t padding, at::Generator& generator, const RowShare& share) {
  const int64_t n = images.size(0), h = images.size(2), w = images.size(3);
  const torch::Tensor padded = F::pad(images, F::PadFuncOptions({padding, padding, padding, padding}));
  const torch::Tensor offsets = share.own(torch::randint(2 * padding + 1, {share.wholeRows(n), 2}, generator, torch::kInt64)).contiguous();
  const auto o = offsets.accessor<int64_t, 2>();
  std::vector<torch::Tensor> windows;
  windows.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) windows.push_back(padded[i].slice(1, o[i][0], o[i][0] + h).slice(2, o[i][1], o[i][1] + w));
  return torch::stack(windows);
}

torch::Tensor randomFlip(const torch::Tensor& images, at::Generator& generator, const RowShare& share) {
  const torch::Tensor drawn = torch::rand({share.wholeRows(images.size(0)), 1, 1, 1}, generator, torch::kFloat64);
  const torch::Tensor flipped = share.own(drawn).lt(0.5).to(images.device());
  return torch::where(flipped, images.flip(3), images);
}

// DARTS's Cutout: centre (y, x) uniform over the pixels, the square [y - side/2, y + side/2) and
// likewise in x, clipped to the image.
torch::Tensor cutout(const torch::Tensor& images, int64_t side, at::Generator& generator, const RowShare& share) {
  const int64_t n = share.wholeRows(images.size(0)), h = images.size(2), w = images.size(3);
  const torch::Tensor centreY = share.own(torch::randint(h, {n, 1, 1, 1}, generator, torch::kInt64)).to(images.device());
  const torch::Tensor centreX = share.own(torch::randint(w, {n, 1, 1, 1}, generator, torch::kInt64)).to(images.device());
  const auto index = torch::TensorOptions().dtype(torch::kInt64).device(images.device());
  const torch::Tensor rows = torch::arange(h, index).view({1, 1, h, 1});
  const torch::Tensor columns = torch::arange(w, index).view({1, 1, 1, w});
  const torch::Tensor inY = rows.ge(centreY - side / 2).logical_and(rows.lt(centreY + side - side / 2));
  const torch::Tensor inX = columns.ge(centreX - side / 2).logical_and(columns.lt(centreX + side - side / 2));
  return images.masked_fill(inY.logical_and(inX), 0);
}

}  // namespace

torch::Tensor augmented(const torch::Tensor& images, const Augmentation& a, at::Generator& generator, const RowShare& share) {
  torch::Tensor out = a.cropPadding > 0 ? randomCrop(images, a.cropPadding, generator, share) : images;
  if (a.flip) out = randomFlip(out, generator, share);
  return a.cutout > 0 ? cutout(out, a.cutout, generator, share) : out;
}

}  // namespace bilevel::core

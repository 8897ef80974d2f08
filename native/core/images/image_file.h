// Image files decoded by the libraries everyone uses (libpng, libjpeg-turbo): the format is told
// by the file's first bytes, not its name. Errors name the file and what is wrong with it.
#pragma once
#include <torch/torch.h>

#include <string>

namespace bilevel::core {

// Larger sides are refused before any pixel is decoded (a hostile header cannot ask for gigabytes).
constexpr int64_t kMaxImageSide = 16384;

// A PNG or JPEG file as uint8 [channels, height, width]: channels 1 is gray, 3 is RGB (either
// converted from the file's own colors; transparency is composited on black).
torch::Tensor decodeImage(const std::string& path, int64_t channels);

// uint8 [count, channels, h, w] images resized to size x size: bilinear with antialiasing when
// shrinking (averages every source pixel, as image libraries' thumbnails do), rounded to uint8.
torch::Tensor resizeImages(const torch::Tensor& images, int64_t size);

}  // namespace bilevel::core

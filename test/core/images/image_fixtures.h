// Image files written by the same libraries that decode them (libpng's simplified API, TurboJPEG),
// so the decoding tests start from pixels they know.
#pragma once
#include <png.h>
#include <torch/torch.h>
#include <turbojpeg.h>

#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

#include "../support.h"

namespace bilevel::test {

// uint8 [channels, height, width] as [height, width, channels] bytes.
inline torch::Tensor interleaved(const torch::Tensor& image) { return image.permute({1, 2, 0}).contiguous(); }

// channels 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA).
inline void writePng(const std::string& path, const torch::Tensor& image) {
  static constexpr png_uint_32 kFormats[] = {0, PNG_FORMAT_GRAY, PNG_FORMAT_GA, PNG_FORMAT_RGB, PNG_FORMAT_RGBA};
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.size(2));
  png.height = static_cast<png_uint_32>(image.size(1));
  png.format = kFormats[image.size(0)];
  const torch::Tensor pixels = interleaved(image);
  if (!png_image_write_to_file(&png, path.c_str(), 0, pixels.data_ptr(), 0, nullptr)) throw std::runtime_error(png.message);
}

// channels 1 or 3, at the given quality.
inline void writeJpeg(const std::string& path, const torch::Tensor& image, int quality = 100) {
  std::unique_ptr<void, int (*)(tjhandle)> handle(tjInitCompress(), tjDestroy);
  const torch::Tensor pixels = interleaved(image);
  unsigned char* out = nullptr;
  unsigned long size = 0;
  const bool gray = image.size(0) == 1;
  if (tjCompress2(handle.get(), pixels.data_ptr<uint8_t>(), static_cast<int>(image.size(2)), 0, static_cast<int>(image.size(1)),
                  gray ? TJPF_GRAY : TJPF_RGB, &out, &size, gray ? TJSAMP_GRAY : TJSAMP_444, quality, 0) != 0) {
    throw std::runtime_error(tjGetErrorStr2(handle.get()));
  }
  writeFile(path, std::string(reinterpret_cast<char*>(out), size));
  tjFree(out);
}

// A smooth image (JPEG keeps it within a few levels): a ramp across, another down, per channel.
inline torch::Tensor smoothImage(int64_t channels, int64_t height, int64_t width, int64_t offset = 0) {
  const torch::Tensor across = torch::linspace(0, 120, width).view({1, 1, width});
  const torch::Tensor down = torch::linspace(0, 100, height).view({1, height, 1});
  const torch::Tensor shift = torch::arange(channels).view({channels, 1, 1}) * 10 + offset;
  return (across + down + shift).round().clamp(0, 255).to(torch::kUInt8);
}

}  // namespace bilevel::test

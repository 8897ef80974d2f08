#include "core/images/image_file.h"

#include <png.h>
#include <turbojpeg.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <vector>

#include "core/error.h"

namespace bilevel::core {
namespace {

[[noreturn]] void unreadable(const std::string& path, const std::string& why) {
  throw Error("INVALID_ARGUMENT", path + ": not a readable image (" + why + ")");
}

std::string fileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) unreadable(path, std::string("cannot open it: ") + std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) unreadable(path, "cannot read it");
  return bytes;
}

void checkSides(const std::string& path, int64_t width, int64_t height) {
  if (width < 1 || height < 1 || width > kMaxImageSide || height > kMaxImageSide) {
    unreadable(path, std::to_string(width) + " x " + std::to_string(height) + " pixels; sides of 1 to " +
                         std::to_string(kMaxImageSide) + " are read");
  }
}

// [height, width, channels] pixels as [channels, height, width].
torch::Tensor planar(std::vector<uint8_t> pixels, int64_t height, int64_t width, int64_t channels) {
  auto* owned = new std::vector<uint8_t>(std::move(pixels));
  return torch::from_blob(owned->data(), {height, width, channels}, [owned](void*) { delete owned; }, torch::kUInt8)
      .permute({2, 0, 1})
      .contiguous();
}

// libpng's simplified API: no setjmp, every failure reported in image.message.
torch::Tensor decodePng(const std::string& path, const std::string& bytes, int64_t channels) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size())) unreadable(path, std::string("PNG: ") + image.message);
  std::unique_ptr<png_image, void (*)(png_imagep)> guard(&image, png_image_free);
  checkSides(path, image.width, image.height);
  image.format = channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
  std::vector<uint8_t> pixels(PNG_IMAGE_SIZE(image));
  const png_color black{0, 0, 0};
  if (!png_image_finish_read(&image, &black, pixels.data(), 0, nullptr)) unreadable(path, std::string("PNG: ") + image.message);
  return planar(std::move(pixels), image.height, image.width, channels);
}

torch::Tensor decodeJpeg(const std::string& path, const std::string& bytes, int64_t channels) {
  std::unique_ptr<void, int (*)(tjhandle)> handle(tjInitDecompress(), tjDestroy);
  if (!handle) unreadable(path, "JPEG: cannot start a decoder");
  auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  int width = 0, height = 0, subsampling = 0, colorspace = 0;
  if (tjDecompressHeader3(handle.get(), data, bytes.size(), &width, &height, &subsampling, &colorspace) != 0) {
    unreadable(path, std::string("JPEG: ") + tjGetErrorStr2(handle.get()));
  }
  checkSides(path, width, height);
  std::vector<uint8_t> pixels(static_cast<size_t>(width) * height * channels);
  // TJFLAG_STOPONWARNING: a truncated or corrupt file is an error, not a half-gray picture.
  const int format = channels == 1 ? TJPF_GRAY : TJPF_RGB;
  if (tjDecompress2(handle.get(), data, bytes.size(), pixels.data(), width, 0, height, format, TJFLAG_STOPONWARNING) != 0) {
    unreadable(path, std::string("JPEG: ") + tjGetErrorStr2(handle.get()));
  }
  return planar(std::move(pixels), height, width, channels);
}

bool startsWith(const std::string& bytes, const std::string& magic) { return bytes.compare(0, magic.size(), magic) == 0; }

}  // namespace

torch::Tensor decodeImage(const std::string& path, int64_t channels) {
  if (channels != 1 && channels != 3) throw Error("INVALID_ARGUMENT", "images are decoded to 1 or 3 channels; got " + std::to_string(channels));
  const std::string bytes = fileBytes(path);
  if (startsWith(bytes, "\x89PNG\r\n\x1a\n")) return decodePng(path, bytes, channels);
  if (startsWith(bytes, "\xff\xd8\xff")) return decodeJpeg(path, bytes, channels);
  unreadable(path, "neither PNG nor JPEG by its first bytes");
}

torch::Tensor resizeImages(const torch::Tensor& images, int64_t size) {
  if (images.size(2) == size && images.size(3) == size) return images.contiguous();
  namespace F = torch::nn::functional;
  const bool shrinking = images.size(2) > size || images.size(3) > size;
  const torch::Tensor resized = F::interpolate(images.to(torch::kFloat32), F::InterpolateFuncOptions()
                                                                                .size(std::vector<int64_t>{size, size})
                                                                                .mode(torch::kBilinear)
                                                                                .align_corners(false)
                                                                                .antialias(shrinking));
  return resized.round().clamp(0, 255).to(torch::kUInt8).contiguous();
}

}  // namespace bilevel::core

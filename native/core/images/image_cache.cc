#include "core/images/image_cache.h"

#include <algorithm>
#include <filesystem>
#include <optional>

#include "core/error.h"
#include "core/record_file.h"

namespace bilevel::core {
namespace {

namespace fs = std::filesystem;

// FNV-1a, 64 bits: a fingerprint, not a defence against someone forging a collision.
struct Fingerprint {
  uint64_t hash = 14695981039346656037ull;
  void add(const std::string& text) {
    for (const unsigned char c : text) hash = (hash ^ c) * 1099511628211ull;
    hash = (hash ^ 0xff) * 1099511628211ull;  // a separator, so ("ab", "c") and ("a", "bc") differ
  }
};

// Every regular file under path (or path itself): its path, size and modification time.
void addFiles(Fingerprint& fingerprint, const fs::path& path) {
  std::error_code error;
  const fs::path absolute = fs::absolute(path, error);
  fingerprint.add(absolute.string());
  auto addFile = [&](const fs::path& file) {
    fingerprint.add(file.string());
    fingerprint.add(std::to_string(fs::file_size(file, error)));
    fingerprint.add(std::to_string(fs::last_write_time(file, error).time_since_epoch().count()));
  };
  if (!fs::is_directory(absolute, error)) return addFile(absolute);
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(absolute, error); !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (it->is_regular_file(error)) files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());  // directory order is the file system's, not stable
  for (const fs::path& file : files) addFile(file);
}

char hexDigit(uint64_t value) { return "0123456789abcdef"[value & 0xf]; }

Records recordsOf(const ClassImages& images) {
  Records records;
  records["classes"] = torch::tensor(images.classes(), torch::kInt64);
  for (int64_t c = 0; c < images.classes(); ++c) {
    records["name." + std::to_string(c)] = images.names[c];
    records["images." + std::to_string(c)] = images.images[c];
  }
  return records;
}

// The images of a cache file, or nothing when it is missing or does not hold what a cache holds.
std::optional<ClassImages> imagesOf(const std::string& path) {
  std::error_code error;
  if (!fs::exists(path, error)) return std::nullopt;
  try {
    Records records = readRecordFile(path, "image cache");
    const int64_t classes = std::get<torch::Tensor>(records.at("classes")).item<int64_t>();
    ClassImages images;
    for (int64_t c = 0; c < classes; ++c) {
      images.names.push_back(std::get<std::string>(records.at("name." + std::to_string(c))));
      images.images.push_back(std::get<torch::Tensor>(records.at("images." + std::to_string(c))));
      if (images.images.back().scalar_type() != torch::kUInt8 || images.images.back().dim() != 4) return std::nullopt;
    }
    return images;
  } catch (const std::exception&) {
    return std::nullopt;  // damaged or foreign: decoded again and rewritten
  }
}

}  // namespace

std::string imageCacheName(const std::string& kind, const std::vector<std::string>& paths, int64_t size, int64_t channels) {
  Fingerprint fingerprint;
  for (const std::string& path : paths) addFiles(fingerprint, path);
  std::string hex;
  for (int shift = 60; shift >= 0; shift -= 4) hex.push_back(hexDigit(fingerprint.hash >> shift));
  return kind + "-" + std::to_string(size) + "px-" + std::to_string(channels) + "c-" + hex + ".bin";
}

ClassImages cachedClassImages(const std::string& cacheDir, const std::string& name, const std::function<ClassImages()>& load) {
  const std::string path = (fs::path(cacheDir) / name).string();
  if (std::optional<ClassImages> cached = imagesOf(path)) return *std::move(cached);
  ClassImages images = load();
  std::error_code error;
  fs::create_directories(cacheDir, error);
  if (error) throw Error("IO", cacheDir + ": cannot create the image cache folder (" + error.message() + ")");
  writeRecordFile(path, recordsOf(images), "image cache");
  return images;
}

}  // namespace bilevel::core

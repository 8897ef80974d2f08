#include "core/datasets.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "core/error.h"

namespace bilevel::core {
namespace {

// The largest image or label file a reader accepts, decompressed: larger than any dataset these
// tasks read, and small enough that a lying header or a small gzip bomb cannot exhaust memory.
constexpr uint64_t kMaxBytes = uint64_t(2) << 30;
constexpr int64_t kClasses = 10;

[[noreturn]] void malformed(const std::string& path, uint64_t offset, const std::string& what) {
  throw Error("INVALID_ARGUMENT", path + ": " + what + " (at byte " + std::to_string(offset) + ")");
}

// A dataset file read front to back, raw or gzipped (zlib reads both). Memory grows with the bytes
// actually read, never with a size a header claims.
class DatasetFile {
 public:
  explicit DatasetFile(std::string path) : path_(std::move(path)) {
    std::error_code error;
    const auto status = std::filesystem::status(path_, error);
    if (error || !std::filesystem::exists(status)) throw Error("INVALID_ARGUMENT", path_ + ": cannot open the file");
    if (!std::filesystem::is_regular_file(status)) throw Error("INVALID_ARGUMENT", path_ + ": not a regular file (a directory?)");
    file_ = gzopen(path_.c_str(), "rb");
    if (file_ == nullptr) throw Error("INVALID_ARGUMENT", path_ + ": cannot open the file");
  }
  ~DatasetFile() { gzclose(file_); }
  DatasetFile(const DatasetFile&) = delete;
  DatasetFile& operator=(const DatasetFile&) = delete;

  const std::string& path() const { return path_; }
  uint64_t offset() const { return offset_; }

  // Up to `count` bytes; fewer only at the end of the file.
  std::vector<uint8_t> readUpTo(uint64_t count) {
    std::vector<uint8_t> out;
    out.reserve(static_cast<size_t>(std::min<uint64_t>(count, 1 << 26)));
    std::vector<uint8_t> chunk(1 << 20);
    while (out.size() < count) {
      const auto wanted = static_cast<unsigned>(std::min<uint64_t>(chunk.size(), count - out.size()));
      const int n = gzread(file_, chunk.data(), wanted);
      if (n < 0) {
        int code = Z_OK;
        malformed(path_, offset_, std::string("corrupt gzip data: ") + gzerror(file_, &code));
      }
      if (n == 0) break;
      out.insert(out.end(), chunk.begin(), chunk.begin() + n);
      offset_ += static_cast<uint64_t>(n);
    }
    return out;
  }

  // Exactly `count` bytes of `what`, or a refusal that says how many the file had.
  std::vector<uint8_t> read(uint64_t count, const char* what, uint64_t from) {
    std::vector<uint8_t> out = readUpTo(count);
    if (out.size() < count) {
      malformed(path_, offset_, std::string("truncated: ") + std::to_string(count) + " bytes of " + what + " expected from byte " +
                                    std::to_string(from) + ", the file has " + std::to_string(out.size()));
    }
    return out;
  }

  uint32_t bigEndian32() {
    const std::vector<uint8_t> b = readUpTo(4);
    if (b.size() < 4) malformed(path_, offset_, "the file ends inside its header");
    return (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | uint32_t(b[3]);
  }

  // Refuses bytes after the data the header declared.
  void expectEnd() {
    const uint64_t end = offset_;
    if (!readUpTo(1).empty()) malformed(path_, end, "trailing data after the " + std::to_string(end) + " bytes its header declares");
  }

 private:
  std::string path_;
  gzFile file_ = nullptr;
  uint64_t offset_ = 0;
};

void expectMagic(DatasetFile& file, uint32_t expected, const char* kind) {
  const uint32_t magic = file.bigEndian32();
  if (magic != expected) {
    char text[96];
    std::snprintf(text, sizeof text, "bad magic number 0x%08x, expected 0x%08x for an IDX %s file", magic, expected, kind);
    malformed(file.path(), 0, text);
  }
}

// Refuses labels outside 0-9, naming the byte of the first one (labels start at `first`).
void expectClasses(const torch::Tensor& labels, const std::string& path, uint64_t first, uint64_t stride) {
  const torch::Tensor bad = (labels >= kClasses).nonzero();
  if (bad.numel() == 0) return;
  const int64_t at = bad[0][0].item<int64_t>();
  malformed(path, first + static_cast<uint64_t>(at) * stride,
            "label " + std::to_string(labels[at].item<int64_t>()) + " is not a class (0-" + std::to_string(kClasses - 1) + ")");
}

}  // namespace

LabeledImages readIdx(const std::string& imagesPath, const std::string& labelsPath) {
  DatasetFile images(imagesPath), labels(labelsPath);
  expectMagic(images, 0x00000803, "image");
  expectMagic(labels, 0x00000801, "label");
  const uint64_t count = images.bigEndian32(), rows = images.bigEndian32(), cols = images.bigEndian32();
  // Each factor is below 2^32, so the products below cannot overflow 64 bits once each is checked.
  if (rows * cols > kMaxBytes || count * rows * cols > kMaxBytes) {
    malformed(imagesPath, 4, "declares " + std::to_string(count) + " images of " + std::to_string(rows) + "x" + std::to_string(cols) +
                                 ", more than the " + std::to_string(kMaxBytes >> 30) + " GiB this reader accepts");
  }
  const uint64_t labelCount = labels.bigEndian32();
  if (labelCount != count) {
    malformed(labelsPath, 4, "holds " + std::to_string(labelCount) + " labels but " + imagesPath + " holds " + std::to_string(count) +
                                 " images");
  }
  std::vector<uint8_t> pixels = images.read(count * rows * cols, "data", 16);
  images.expectEnd();
  std::vector<uint8_t> classes = labels.read(count, "labels", 8);
  labels.expectEnd();
  const auto n = static_cast<int64_t>(count);
  LabeledImages out;
  out.images = torch::from_blob(pixels.data(), {n, static_cast<int64_t>(rows), static_cast<int64_t>(cols)}, torch::kUInt8).clone();
  out.labels = torch::from_blob(classes.data(), {n}, torch::kUInt8).to(torch::kInt64);
  expectClasses(out.labels, labelsPath, 8, 1);
  return out;
}

namespace {
// An IDX file of root, gzipped or raw.
std::string idxFile(const std::string& root, const std::string& name) {
  for (const std::string& candidate : {root + "/" + name + ".gz", root + "/" + name}) {
    if (std::filesystem::exists(candidate)) return candidate;
  }
  throw Error("INVALID_ARGUMENT", "dataset file " + name + "(.gz) not found in " + root);
}
}  // namespace

std::pair<LabeledImages, LabeledImages> readIdxFolder(const std::string& root) {
  // One file at a time, so a missing file is reported in a fixed order.
  std::vector<std::string> files;
  for (const char* name : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}) {
    files.push_back(idxFile(root, name));
  }
  std::pair<LabeledImages, LabeledImages> sets{readIdx(files[0], files[1]), readIdx(files[2], files[3])};
  const auto trainShape = sets.first.images.sizes().slice(1), testShape = sets.second.images.sizes().slice(1);
  if (trainShape != testShape) {
    throw Error("INVALID_ARGUMENT", files[2] + ": images of " + c10::str(testShape) + ", but " + files[0] + " holds images of " +
                                      c10::str(trainShape));
  }
  return sets;
}

LabeledImages readCifarBatches(const std::vector<std::string>& paths) {
  constexpr int64_t kRecord = 1 + 3 * 32 * 32;
  std::vector<torch::Tensor> images, labels;
  for (const auto& path : paths) {
    DatasetFile file(path);
    std::vector<uint8_t> bytes = file.readUpTo(kMaxBytes);
    if (bytes.size() == kMaxBytes) file.expectEnd();
    if (bytes.empty() || bytes.size() % kRecord != 0) {
      malformed(path, bytes.size() - bytes.size() % kRecord,
                "truncated: the size " + std::to_string(bytes.size()) + " is not a multiple of the 3073-byte record");
    }
    const int64_t count = static_cast<int64_t>(bytes.size()) / kRecord;
    auto records = torch::from_blob(bytes.data(), {count, kRecord}, torch::kUInt8);
    auto batchLabels = records.select(1, 0).to(torch::kInt64);
    expectClasses(batchLabels, path, 0, kRecord);
    images.push_back(records.slice(1, 1).reshape({count, 3, 32, 32}).clone());
    labels.push_back(batchLabels);
  }
  return LabeledImages{torch::cat(images), torch::cat(labels)};
}

}  // namespace bilevel::core

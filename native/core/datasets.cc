#include "core/datasets.h"

#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace bilevel::core {
namespace {

[[noreturn]] void malformed(const std::string& path, size_t offset, const std::string& what) {
  throw Error("INVALID_ARGUMENT", path + ": " + what + " (at byte " + std::to_string(offset) + ")");
}

std::vector<uint8_t> readRaw(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("INVALID_ARGUMENT", path + ": cannot open the file");
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<uint8_t> readGzip(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) throw Error("INVALID_ARGUMENT", path + ": cannot open the file");
  std::vector<uint8_t> out;
  std::vector<uint8_t> chunk(1 << 20);
  int n = 0;
  while ((n = gzread(file, chunk.data(), static_cast<unsigned>(chunk.size()))) > 0) out.insert(out.end(), chunk.begin(), chunk.begin() + n);
  int code = Z_OK;
  const std::string message = n < 0 ? gzerror(file, &code) : "";
  gzclose(file);
  if (n < 0) malformed(path, out.size(), "corrupt gzip data: " + message);
  return out;
}

// The whole file, decompressed when it starts with the gzip magic bytes.
std::vector<uint8_t> readFile(const std::string& path) {
  std::ifstream probe(path, std::ios::binary);
  if (!probe) throw Error("INVALID_ARGUMENT", path + ": cannot open the file");
  unsigned char magic[2] = {0, 0};
  probe.read(reinterpret_cast<char*>(magic), 2);
  probe.close();
  return magic[0] == 0x1f && magic[1] == 0x8b ? readGzip(path) : readRaw(path);
}

uint32_t bigEndian(const std::vector<uint8_t>& bytes, size_t offset, const std::string& path) {
  if (bytes.size() < offset + 4) malformed(path, bytes.size(), "the file ends inside its header");
  return (uint32_t(bytes[offset]) << 24) | (uint32_t(bytes[offset + 1]) << 16) | (uint32_t(bytes[offset + 2]) << 8) |
         uint32_t(bytes[offset + 3]);
}

void expectMagic(const std::vector<uint8_t>& bytes, const std::string& path, uint32_t expected, const char* kind) {
  const uint32_t magic = bigEndian(bytes, 0, path);
  if (magic != expected) {
    char text[96];
    std::snprintf(text, sizeof text, "bad magic number 0x%08x, expected 0x%08x for an IDX %s file", magic, expected, kind);
    malformed(path, 0, text);
  }
}

void expectBytes(const std::vector<uint8_t>& bytes, size_t offset, size_t needed, const std::string& path) {
  if (bytes.size() - offset < needed) {
    malformed(path, bytes.size(), "truncated: " + std::to_string(needed) + " bytes of data expected from byte " +
                                      std::to_string(offset) + ", the file has " + std::to_string(bytes.size() - offset));
  }
}

}  // namespace

LabeledImages readIdx(const std::string& imagesPath, const std::string& labelsPath) {
  const std::vector<uint8_t> images = readFile(imagesPath);
  const std::vector<uint8_t> labels = readFile(labelsPath);
  expectMagic(images, imagesPath, 0x00000803, "image");
  expectMagic(labels, labelsPath, 0x00000801, "label");
  const int64_t count = bigEndian(images, 4, imagesPath);
  const int64_t rows = bigEndian(images, 8, imagesPath);
  const int64_t cols = bigEndian(images, 12, imagesPath);
  const int64_t labelCount = bigEndian(labels, 4, labelsPath);
  if (labelCount != count) {
    malformed(labelsPath, 4, "holds " + std::to_string(labelCount) + " labels but " + imagesPath + " holds " +
                                 std::to_string(count) + " images");
  }
  expectBytes(images, 16, static_cast<size_t>(count * rows * cols), imagesPath);
  expectBytes(labels, 8, static_cast<size_t>(count), labelsPath);
  LabeledImages out;
  out.images = torch::from_blob(const_cast<uint8_t*>(images.data()) + 16, {count, rows, cols}, torch::kUInt8).clone();
  out.labels = torch::from_blob(const_cast<uint8_t*>(labels.data()) + 8, {count}, torch::kUInt8).to(torch::kInt64);
  return out;
}

LabeledImages readCifarBatches(const std::vector<std::string>& paths) {
  constexpr int64_t kRecord = 1 + 3 * 32 * 32;
  std::vector<torch::Tensor> images, labels;
  for (const auto& path : paths) {
    const std::vector<uint8_t> bytes = readFile(path);
    if (bytes.empty() || bytes.size() % kRecord != 0) {
      malformed(path, bytes.size() - bytes.size() % kRecord,
                "truncated: the size " + std::to_string(bytes.size()) + " is not a multiple of the 3073-byte record");
    }
    const int64_t count = static_cast<int64_t>(bytes.size()) / kRecord;
    auto records = torch::from_blob(const_cast<uint8_t*>(bytes.data()), {count, kRecord}, torch::kUInt8);
    auto batchLabels = records.select(1, 0).to(torch::kInt64);
    const auto bad = (batchLabels > 9).nonzero();
    if (bad.numel() > 0) {
      const int64_t record = bad[0][0].item<int64_t>();
      malformed(path, static_cast<size_t>(record * kRecord), "label " + std::to_string(batchLabels[record].item<int64_t>()) +
                                                                  " is not a CIFAR-10 class (0-9)");
    }
    images.push_back(records.slice(1, 1).reshape({count, 3, 32, 32}).clone());
    labels.push_back(batchLabels);
  }
  return LabeledImages{torch::cat(images), torch::cat(labels)};
}

}  // namespace bilevel::core

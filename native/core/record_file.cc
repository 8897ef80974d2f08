#include "core/record_file.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>

#include "core/atomic_file.h"
#include "core/error.h"

namespace bilevel::core {
namespace {

// Format 2: the container below around the archive. Format 1 was a bare archive (no checksum).
constexpr uint32_t kFormat = 2;
constexpr std::array<char, 8> kMagic = {'B', 'L', 'V', 'L', 'C', 'K', 'P', 'T'};
// magic, format (u32), CRC-32 of the payload (u32), payload length (u64), all little-endian.
constexpr size_t kHeaderBytes = 8 + 4 + 4 + 8;

void putLittleEndian(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

uint64_t getLittleEndian(const std::string& in, size_t at, int bytes) {
  uint64_t value = 0;
  for (int i = bytes - 1; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(in[at + i]);
  return value;
}

// The CRC-32 of bytes [from, end).
uint32_t crc32Of(const std::string& bytes, size_t from = 0) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes lengths as uInt: feed large payloads in pieces.
  for (size_t at = from; at < bytes.size();) {
    const size_t piece = std::min<size_t>(bytes.size() - at, 1u << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + at), static_cast<uInt>(piece));
    at += piece;
  }
  return static_cast<uint32_t>(crc);
}

// The dtypes a record file may hold, by their code in the file.
constexpr std::array<torch::ScalarType, 8> kDtypes = {torch::kFloat32, torch::kFloat64, torch::kInt64, torch::kInt32,
                                                     torch::kUInt8,   torch::kBool,    torch::kFloat16, torch::kBFloat16};
constexpr uint8_t kTensorRecord = 1, kTextRecord = 2;
constexpr uint64_t kMaxDims = 64;

std::string payloadOf(const Records& records, const std::string& what) {
  std::string out;
  putLittleEndian(out, records.size(), 8);
  for (const auto& [name, value] : records) {
    putLittleEndian(out, name.size(), 4);
    out += name;
    if (const auto* text = std::get_if<std::string>(&value)) {
      out.push_back(static_cast<char>(kTextRecord));
      putLittleEndian(out, text->size(), 8);
      out += *text;
      continue;
    }
    const torch::Tensor t = std::get<torch::Tensor>(value).detach().to(torch::kCPU).contiguous();
    const auto code = std::find(kDtypes.begin(), kDtypes.end(), t.scalar_type());
    if (code == kDtypes.end()) throw Error("DTYPE", what + ": '" + name + "' is " + c10::str(t.scalar_type()) + ", which record files do not hold");
    out.push_back(static_cast<char>(kTensorRecord));
    out.push_back(static_cast<char>(code - kDtypes.begin()));
    out.push_back(static_cast<char>(t.dim()));
    for (const int64_t size : t.sizes()) putLittleEndian(out, static_cast<uint64_t>(size), 8);
    out.append(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
  }
  return out;
}

std::string containerOf(const std::string& payload) {
  std::string out(kMagic.begin(), kMagic.end());
  putLittleEndian(out, kFormat, 4);
  putLittleEndian(out, crc32Of(payload), 4);
  putLittleEndian(out, payload.size(), 8);
  out.reserve(out.size() + payload.size());
  out += payload;
  return out;
}

[[noreturn]] void unreadable(const std::string& path, const std::string& what, const std::string& why) {
  throw Error("INVALID_ARGUMENT", path + ": not a readable " + what + " (" + why + ")");
}

// Reads the payload front to back; every length is checked against the bytes left before use.
class PayloadParser {
 public:
  // Parses the payload that starts at byte `from` of bytes (the whole file: no copy of it).
  PayloadParser(const std::string& bytes, size_t from, const std::string& path, const std::string& what)
      : bytes_(bytes), path_(path), what_(what), at_(from) {}

  Records records() {
    const uint64_t count = number(8, "the record count");
    Records out;
    for (uint64_t i = 0; i < count; ++i) {
      std::string name = take(number(4, "a name's length"), "a name");
      const uint8_t kind = static_cast<uint8_t>(number(1, "a record's kind"));
      auto value = kind == kTextRecord     ? std::variant<torch::Tensor, std::string>(take(number(8, "a text's length"), "a text"))
                   : kind == kTensorRecord ? std::variant<torch::Tensor, std::string>(tensor(name))
                                           : malformed("record '" + name + "' has an unknown kind");
      if (!out.emplace(std::move(name), std::move(value)).second) malformed("a record name appears twice");
    }
    if (at_ != bytes_.size()) malformed("bytes after the last record");
    return out;
  }

 private:
  torch::Tensor tensor(const std::string& name) {
    const uint64_t code = number(1, "a dtype");
    if (code >= kDtypes.size()) malformed("'" + name + "' has an unknown dtype");
    const uint64_t dims = number(1, "a rank");
    if (dims > kMaxDims) malformed("'" + name + "' has " + std::to_string(dims) + " dimensions");
    std::vector<int64_t> sizes;
    uint64_t numel = 1;
    const uint64_t elementSize = c10::elementSize(kDtypes[code]);
    for (uint64_t d = 0; d < dims; ++d) {
      const uint64_t size = number(8, "a size");
      // After a zero size the check below passes any size; LibTorch's sizes are signed.
      if (size > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) malformed("'" + name + "' has a size above 2^63 - 1");
      // The data must fit in what is left, so no product of sizes can overflow past it.
      if (size != 0 && numel > (bytes_.size() - at_) / elementSize / size) malformed("'" + name + "' is larger than the file");
      numel *= size;
      sizes.push_back(static_cast<int64_t>(size));
    }
    const uint64_t count = numel * elementSize;
    need(count, "tensor data");
    torch::Tensor t = torch::empty(sizes, torch::TensorOptions().dtype(kDtypes[code]));
    // An empty tensor has no storage (a null data pointer), which memcpy must not be given.
    if (count != 0) std::memcpy(t.data_ptr(), bytes_.data() + at_, static_cast<size_t>(count));
    at_ += static_cast<size_t>(count);
    return t;
  }

  uint64_t number(int count, const char* what) {
    need(static_cast<uint64_t>(count), what);
    const uint64_t value = getLittleEndian(bytes_, at_, count);
    at_ += static_cast<size_t>(count);
    return value;
  }

  std::string take(uint64_t count, const char* what) {
    need(count, what);
    std::string out = bytes_.substr(at_, static_cast<size_t>(count));
    at_ += static_cast<size_t>(count);
    return out;
  }

  void need(uint64_t count, const char* what) {
    if (count > bytes_.size() - at_) malformed(std::string("ends inside ") + what);
  }

  [[noreturn]] std::variant<torch::Tensor, std::string> malformed(const std::string& why) {
    unreadable(path_, what_, "malformed at byte " + std::to_string(at_) + ": " + why);
  }

  const std::string& bytes_;
  const std::string& path_;
  const std::string& what_;
  size_t at_ = 0;
};

}  // namespace

void writeRecordFile(const std::string& path, const Records& records, const std::string& what) {
  writeAtomically(path, containerOf(payloadOf(records, what)), "the " + what);
}

Records readRecordFile(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) unreadable(path, what, std::string("cannot open it: ") + std::strerror(errno));
  std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) unreadable(path, what, "cannot read it");
  if (file.size() >= 2 && file.compare(0, 2, "PK") == 0) {
    unreadable(path, what, "written by an earlier bilevel in format 1, which carries no checksum; write it again");
  }
  if (file.size() < kHeaderBytes || !std::equal(kMagic.begin(), kMagic.end(), file.begin())) {
    unreadable(path, what, "not a bilevel record file");
  }
  const uint64_t format = getLittleEndian(file, 8, 4);
  if (format != kFormat) unreadable(path, what, "format " + std::to_string(format) + ", this bilevel reads format " + std::to_string(kFormat));
  const uint64_t length = getLittleEndian(file, 16, 8);
  if (length != file.size() - kHeaderBytes) {
    unreadable(path, what, "truncated or extended: " + std::to_string(file.size() - kHeaderBytes) + " payload bytes, the header says " +
                         std::to_string(length));
  }
  if (crc32Of(file, kHeaderBytes) != getLittleEndian(file, 12, 4)) unreadable(path, what, "corrupt: its checksum does not match its contents");
  return PayloadParser(file, kHeaderBytes, path, what).records();
}

std::string encodeRecords(const Records& records, const std::string& what) { return payloadOf(records, what); }

Records decodeRecords(const std::string& bytes, const std::string& source, const std::string& what) {
  return PayloadParser(bytes, 0, source, what).records();
}

}  // namespace bilevel::core

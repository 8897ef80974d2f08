#include "core/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#ifndef _WIN32
#include <fcntl.h>
#include <unistd.h>
#endif

#include "core/error.h"
#include "core/solver.h"

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

std::string folderOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
}

[[noreturn]] void ioFailure(const std::string& path, const std::string& what, int error) {
  throw Error("IO", path + ": cannot " + what + " the checkpoint (" + std::strerror(error) + ")");
}

#ifndef _WIN32
// Writes bytes to path.partial, fsyncs it and renames it over path, then fsyncs the folder so the
// rename survives a crash. Any failure removes the partial file and leaves path as it was.
void writeAtomically(const std::string& path, const std::string& bytes) {
  const std::string partial = path + ".partial";
  const int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) ioFailure(path, "create", errno);
  auto fail = [&](const char* what) {
    const int error = errno;
    ::close(fd);
    ::unlink(partial.c_str());
    ioFailure(path, what, error);
  };
  for (size_t at = 0; at < bytes.size();) {
    const ssize_t written = ::write(fd, bytes.data() + at, bytes.size() - at);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) fail("write");
    at += static_cast<size_t>(written);
  }
  if (::fsync(fd) != 0) fail("flush");
  if (::close(fd) != 0) {
    const int error = errno;
    ::unlink(partial.c_str());
    ioFailure(path, "close", error);
  }
  if (std::rename(partial.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(partial.c_str());
    ioFailure(path, "move into place", error);
  }
  const int folder = ::open(folderOf(path).c_str(), O_RDONLY | O_CLOEXEC);
  if (folder >= 0) {
    ::fsync(folder);
    ::close(folder);
  }
}
#else
void writeAtomically(const std::string& path, const std::string& bytes) {
  const std::string partial = path + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      std::remove(partial.c_str());
      ioFailure(path, "write", errno);
    }
  }
  std::remove(path.c_str());
  if (std::rename(partial.c_str(), path.c_str()) != 0) ioFailure(path, "move into place", errno);
}
#endif

// The dtypes a checkpoint may hold, by their code in the file.
constexpr std::array<torch::ScalarType, 8> kDtypes = {torch::kFloat32, torch::kFloat64, torch::kInt64, torch::kInt32,
                                                     torch::kUInt8,   torch::kBool,    torch::kFloat16, torch::kBFloat16};
constexpr uint8_t kTensorRecord = 1, kTextRecord = 2;
constexpr uint64_t kMaxDims = 64;

std::string payloadOf(const Records& records) {
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
    if (code == kDtypes.end()) throw Error("DTYPE", "checkpoint: '" + name + "' is " + c10::str(t.scalar_type()) + ", which checkpoints do not hold");
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

[[noreturn]] void unreadable(const std::string& path, const std::string& why) {
  throw Error("INVALID_ARGUMENT", path + ": not a readable checkpoint (" + why + ")");
}

// Reads the payload front to back; every length is checked against the bytes left before use.
class PayloadParser {
 public:
  // Parses the payload that starts at byte `from` of bytes (the whole file: no copy of it).
  PayloadParser(const std::string& bytes, size_t from, const std::string& path) : bytes_(bytes), path_(path), at_(from) {}

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
    unreadable(path_, "malformed at byte " + std::to_string(at_) + ": " + why);
  }

  const std::string& bytes_;
  const std::string& path_;
  size_t at_ = 0;
};

// The records of the file at path, after checking the header and the checksum.
Records recordsOf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) unreadable(path, std::string("cannot open it: ") + std::strerror(errno));
  std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) unreadable(path, "cannot read it");
  if (file.size() >= 2 && file.compare(0, 2, "PK") == 0) {
    unreadable(path, "written by an earlier bilevel in format 1, which carries no checksum; start the run again");
  }
  if (file.size() < kHeaderBytes || !std::equal(kMagic.begin(), kMagic.end(), file.begin())) {
    unreadable(path, "not a bilevel checkpoint");
  }
  const uint64_t format = getLittleEndian(file, 8, 4);
  if (format != kFormat) unreadable(path, "format " + std::to_string(format) + ", this bilevel reads format " + std::to_string(kFormat));
  const uint64_t length = getLittleEndian(file, 16, 8);
  if (length != file.size() - kHeaderBytes) {
    unreadable(path, "truncated or extended: " + std::to_string(file.size() - kHeaderBytes) + " payload bytes, the header says " +
                         std::to_string(length));
  }
  if (crc32Of(file, kHeaderBytes) != getLittleEndian(file, 12, 4)) unreadable(path, "corrupt: its checksum does not match its contents");
  return PayloadParser(file, kHeaderBytes, path).records();
}

}  // namespace

void StateWriter::tensors(const std::string& name, const TensorList& values) {
  integer(name + ".count", static_cast<int64_t>(values.size()));
  for (size_t i = 0; i < values.size(); ++i) tensor(name + "." + std::to_string(i), values[i]);
}

void StateWriter::tensor(const std::string& name, const torch::Tensor& value) { records_[name] = value.detach(); }

void StateWriter::integer(const std::string& name, int64_t value) { tensor(name, torch::tensor(value, torch::kInt64)); }

void StateWriter::text(const std::string& name, const std::string& value) { records_[name] = value; }

void StateReader::refuse(const std::string& what) const { throw Error("INVALID_ARGUMENT", path_ + ": " + what); }

template <typename Value>
const Value& StateReader::record(const std::string& name) {
  const auto found = records_.find(name);
  if (found == records_.end() || !std::holds_alternative<Value>(found->second)) {
    refuse("not a bilevel checkpoint of this solver (no '" + name + "')");
  }
  read_.insert(name);
  return std::get<Value>(found->second);
}

torch::Tensor StateReader::tensor(const std::string& key) { return record<torch::Tensor>(key); }

TensorList StateReader::read(const std::string& name, int64_t count, const TensorList& like) {
  if (count != static_cast<int64_t>(like.size())) {
    throw Error("SHAPE_MISMATCH", path_ + ": '" + name + "' holds " + std::to_string(count) + " tensors, this solver has " +
                                      std::to_string(like.size()));
  }
  TensorList out;
  for (int64_t i = 0; i < count; ++i) {
    const std::string key = name + "." + std::to_string(i);
    const torch::Tensor t = tensor(key);
    const torch::Tensor& expected = like[static_cast<size_t>(i)];
    if (t.sizes() != expected.sizes() || t.scalar_type() != expected.scalar_type()) {
      throw Error("SHAPE_MISMATCH", path_ + ": '" + key + "' is " + c10::str(t.scalar_type()) + c10::str(t.sizes()) +
                                        ", this solver has " + c10::str(expected.scalar_type()) + c10::str(expected.sizes()));
    }
    out.push_back(t.to(expected.device()));
  }
  return out;
}

TensorList StateReader::tensors(const std::string& name, const TensorList& like) {
  return read(name, integer(name + ".count", 0, static_cast<int64_t>(like.size())), like);
}

TensorList StateReader::optionalTensors(const std::string& name, const TensorList& like) {
  const int64_t count = integer(name + ".count", 0, static_cast<int64_t>(like.size()));
  return count == 0 ? TensorList{} : read(name, count, like);
}

int64_t StateReader::integer(const std::string& name, int64_t min, int64_t max) {
  const torch::Tensor t = tensor(name);
  if (t.numel() != 1 || t.scalar_type() != torch::kInt64) refuse("'" + name + "' is not an integer");
  const int64_t value = t.item<int64_t>();
  if (value < min || value > max) {
    refuse("'" + name + "' is " + std::to_string(value) + ", outside [" + std::to_string(min) + ", " + std::to_string(max) +
           "] for this solver");
  }
  return value;
}

std::string StateReader::text(const std::string& name) { return record<std::string>(name); }

void StateReader::requireAllRead() {
  for (const auto& record : records_) {
    if (read_.count(record.first) == 0) {
      refuse("holds '" + record.first + "', which this solver does not have: it was written by a differently configured solver");
    }
  }
}

void saveCheckpoint(const Solver& solver, const std::string& path, const std::string& meta) {
  StateWriter writer;
  writer.text("meta", meta);
  {
    // The global CPU generator, so objectives that draw random numbers continue identically.
    at::Generator generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    writer.tensor("rng", generator.get_state());
  }
  solver.save(writer);
  writeAtomically(path, containerOf(payloadOf(writer.records())));
}

std::string loadCheckpoint(Solver& solver, const std::string& path) {
  StateReader reader(recordsOf(path), path);
  std::string meta;
  Commit commit;
  try {
    meta = reader.text("meta");
    const torch::Tensor rng = reader.tensor("rng");
    at::detail::createCPUGenerator().set_state(rng);  // throws on a malformed state before anything changes
    Commit solverCommit = solver.load(reader);
    reader.requireAllRead();
    commit = [solverCommit, rng] {
      solverCommit();
      at::Generator generator = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(generator.mutex());
      generator.set_state(rng);
    };
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    const std::string message = e.what();
    throw Error("INVALID_ARGUMENT", path + ": corrupt checkpoint: " + message.substr(0, message.find('\n')));
  }
  commit();
  return meta;
}

}  // namespace bilevel::core

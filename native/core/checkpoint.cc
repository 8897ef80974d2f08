#include "core/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cstdio>
#ifndef _WIN32
#include <fcntl.h>
#include <unistd.h>
#endif

#include "core/error.h"
#include "core/solver.h"

namespace bilevel::core {
namespace {

constexpr int64_t kFormat = 1;

void syncFile(const std::string& path) {
#ifndef _WIN32
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
#endif
}

std::string folderOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
}

}  // namespace

void StateWriter::tensors(const std::string& name, const TensorList& values) {
  integer(name + ".count", static_cast<int64_t>(values.size()));
  for (size_t i = 0; i < values.size(); ++i) archive_.write(name + "." + std::to_string(i), values[i].detach());
}

void StateWriter::integer(const std::string& name, int64_t value) {
  archive_.write(name, torch::tensor(value, torch::kInt64));
}

torch::Tensor StateReader::tensor(const std::string& key) {
  torch::Tensor value;
  if (!archive_.try_read(key, value)) throw Error("INVALID_ARGUMENT", path_ + ": not a bilevel checkpoint of this solver (no '" + key + "')");
  return value;
}

TensorList StateReader::tensors(const std::string& name, const TensorList& like) {
  const int64_t count = integer(name + ".count");
  if (count == 0) return {};  // e.g. optimizer moments before the first step
  if (!like.empty() && count != static_cast<int64_t>(like.size())) {
    throw Error("SHAPE_MISMATCH", path_ + ": '" + name + "' holds " + std::to_string(count) + " tensors, this solver has " +
                                      std::to_string(like.size()));
  }
  TensorList out;
  for (int64_t i = 0; i < count; ++i) {
    torch::Tensor t = tensor(name + "." + std::to_string(i));
    if (!like.empty()) {
      const torch::Tensor& expected = like[static_cast<size_t>(i)];
      if (t.sizes() != expected.sizes() || t.scalar_type() != expected.scalar_type()) {
        throw Error("SHAPE_MISMATCH", path_ + ": '" + name + "." + std::to_string(i) + "' is " + c10::str(t.scalar_type()) +
                                          c10::str(t.sizes()) + ", this solver has " + c10::str(expected.scalar_type()) +
                                          c10::str(expected.sizes()));
      }
      t = t.to(expected.device());
    }
    out.push_back(t);
  }
  return out;
}

int64_t StateReader::integer(const std::string& name) { return tensor(name).item<int64_t>(); }

void saveCheckpoint(const Solver& solver, const std::string& path, const std::string& meta) {
  StateWriter writer;
  writer.integer("format", kFormat);
  writer.archive().write("meta", c10::IValue(meta));
  {
    // The global CPU generator, so objectives that draw random numbers continue identically.
    at::Generator generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    writer.archive().write("rng", generator.get_state());
  }
  solver.save(writer);
  const std::string partial = path + ".partial";
  try {
    writer.archive().save_to(partial);
  } catch (const std::exception& e) {
    std::remove(partial.c_str());
    throw Error("INVALID_ARGUMENT", path + ": cannot write the checkpoint: " + std::string(e.what()).substr(0, 200));
  }
  syncFile(partial);
  if (std::rename(partial.c_str(), path.c_str()) != 0) {
    std::remove(partial.c_str());
    throw Error("INVALID_ARGUMENT", path + ": cannot move the checkpoint into place");
  }
  syncFile(folderOf(path));
}

std::string loadCheckpoint(Solver& solver, const std::string& path) {
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const std::exception& e) {
    const std::string message = e.what();
    throw Error("INVALID_ARGUMENT", path + ": not a readable checkpoint (missing, truncated or corrupt): " +
                                        message.substr(0, message.find('\n')));
  }
  StateReader reader(archive, path);
  std::string meta;
  Commit commit;
  try {
    if (reader.integer("format") != kFormat) throw Error("INVALID_ARGUMENT", path + ": checkpoint format not supported");
    c10::IValue value;
    if (!archive.try_read("meta", value) || !value.isString()) throw Error("INVALID_ARGUMENT", path + ": checkpoint without metadata");
    meta = value.toStringRef();
    torch::Tensor rng;
    if (!archive.try_read("rng", rng)) throw Error("INVALID_ARGUMENT", path + ": checkpoint without the generator's state");
    at::detail::createCPUGenerator().set_state(rng);  // throws on a malformed state before anything changes
    Commit solverCommit = solver.load(reader);
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

#include "core/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>

#include "core/error.h"
#include "core/record_file.h"
#include "core/solver.h"

namespace bilevel::core {

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

Records solverState(const Solver& solver, const std::string& meta) {
  StateWriter writer;
  writer.text("meta", meta);
  {
    // The global CPU generator, so objectives that draw random numbers continue identically.
    at::Generator generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    writer.tensor("rng", generator.get_state());
  }
  solver.save(writer);
  return writer.records();
}

std::string restoreSolverState(Solver& solver, Records state, const std::string& source) {
  StateReader reader(std::move(state), source);
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
    throw Error("INVALID_ARGUMENT", source + ": corrupt checkpoint: " + message.substr(0, message.find('\n')));
  }
  commit();
  return meta;
}

void saveCheckpoint(const Solver& solver, const std::string& path, const std::string& meta) {
  writeRecordFile(path, solverState(solver, meta), "checkpoint");
}

std::string loadCheckpoint(Solver& solver, const std::string& path) {
  return restoreSolverState(solver, readRecordFile(path, "checkpoint"), path);
}

}  // namespace bilevel::core

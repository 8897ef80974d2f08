// Checkpoints: a solver's whole state (everything a bit-exact continuation needs) and a caller's
// metadata string, as a record file (core/record_file.h: checksummed, parsed defensively, written
// atomically by plain system calls whose every failure becomes an error; LibTorch's own file
// writer reports a full disk by throwing from a destructor, which ends the process).
#pragma once
#include <torch/torch.h>

#include <functional>
#include <set>
#include <string>

#include "core/record_file.h"
#include "core/tensor_list.h"

namespace bilevel::core {

class Solver;

class StateWriter {
 public:
  void tensors(const std::string& name, const TensorList& values);
  void tensor(const std::string& name, const torch::Tensor& value);
  void integer(const std::string& name, int64_t value);
  void text(const std::string& name, const std::string& value);
  const Records& records() const { return records_; }

 private:
  Records records_;
};

// Reads are checked against what the running solver holds, so a checkpoint of another problem or
// config is refused before anything is changed. Every read key is remembered: a checkpoint that
// holds keys the solver never read was written by a differently built solver and is refused too.
class StateReader {
 public:
  StateReader(Records records, std::string path) : records_(std::move(records)), path_(std::move(path)) {}
  // Exactly the tensors of `like`: the same count, shapes and dtypes (empty `like`: none).
  TensorList tensors(const std::string& name, const TensorList& like);
  // State created lazily (optimizer moments before the first step): none, or exactly `like`.
  TensorList optionalTensors(const std::string& name, const TensorList& like);
  // An integer within [min, max].
  int64_t integer(const std::string& name, int64_t min, int64_t max);
  std::string text(const std::string& name);
  torch::Tensor tensor(const std::string& key);
  // Refuses keys the reads above did not ask for.
  void requireAllRead();
  const std::string& path() const { return path_; }

 private:
  // The record of that name, which must hold a Value; marks it read.
  template <typename Value>
  const Value& record(const std::string& name);
  TensorList read(const std::string& name, int64_t count, const TensorList& like);
  [[noreturn]] void refuse(const std::string& what) const;
  Records records_;
  std::string path_;
  std::set<std::string> read_;
};

// A load reads and checks everything first and returns the step that commits it.
using Commit = std::function<void()>;

// The solver's whole state, the global CPU generator's and a caller's metadata string, as records.
Records solverState(const Solver& solver, const std::string& meta);
// Restores what solverState recorded and returns the metadata; on any error (naming `source`) the
// solver is unchanged.
std::string restoreSolverState(Solver& solver, Records state, const std::string& source);

// Throws IO (naming the path and the system's reason) when the file cannot be written; the
// previous file at path is then left as it was.
void saveCheckpoint(const Solver& solver, const std::string& path, const std::string& meta);
// Restores the solver from path and returns the metadata; on any error the solver is unchanged.
std::string loadCheckpoint(Solver& solver, const std::string& path);

}  // namespace bilevel::core

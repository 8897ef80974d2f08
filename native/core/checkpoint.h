// Checkpoints: a solver's whole state (everything a bit-exact continuation needs) and a caller's
// metadata string, in LibTorch's archive format, written atomically (temp file, fsync, rename).
#pragma once
#include <torch/torch.h>

#include <functional>
#include <string>

#include "core/tensor_list.h"

namespace bilevel::core {

class Solver;

class StateWriter {
 public:
  void tensors(const std::string& name, const TensorList& values);
  void integer(const std::string& name, int64_t value);
  torch::serialize::OutputArchive& archive() { return archive_; }

 private:
  torch::serialize::OutputArchive archive_;
};

// Reads are checked against what the running solver holds, so a checkpoint of another problem or
// config is refused before anything is changed.
class StateReader {
 public:
  StateReader(torch::serialize::InputArchive& archive, std::string path) : archive_(archive), path_(std::move(path)) {}
  // The tensors saved under name, which must match `like` in count and shapes (empty `like`: any).
  TensorList tensors(const std::string& name, const TensorList& like);
  int64_t integer(const std::string& name);

 private:
  torch::Tensor tensor(const std::string& key);
  torch::serialize::InputArchive& archive_;
  std::string path_;
};

// A load reads and checks everything first and returns the step that commits it.
using Commit = std::function<void()>;

void saveCheckpoint(const Solver& solver, const std::string& path, const std::string& meta);
// Restores the solver from path and returns the metadata; on any error the solver is unchanged.
std::string loadCheckpoint(Solver& solver, const std::string& path);

}  // namespace bilevel::core

// A group of processes that solve one problem together: c10d's process group (Gloo on the CPU),
// joined from the variables torchrun sets. The solver needs a few collectives of it: a sum over
// ranks, a broadcast from rank 0, an agreement (any), a barrier; each failure (a rank that died, a timeout) is a
// DISTRIBUTED error naming this rank, never a hang.
#pragma once
#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "core/tensor_list.h"

namespace c10d {
class Backend;
class ProcessGroup;
class Store;
}  // namespace c10d

namespace bilevel::core {

// What Gloo's process group derives from: c10d::Backend since LibTorch 2.0, ProcessGroup before.
#if TORCH_VERSION_MAJOR >= 2
using CollectiveBackend = c10d::Backend;
#else
using CollectiveBackend = c10d::ProcessGroup;
#endif

struct ProcessGroupSettings {
  int rank = 0;
  int worldSize = 1;
  std::string masterAddress = "127.0.0.1";
  int masterPort = 29500;
  // torchrun's elastic agent hosts the store (TORCHELASTIC_USE_AGENT_STORE): every rank is a client.
  bool agentStore = false;
  int restartCount = 0;  // TORCHELASTIC_RESTART_COUNT: the store's keys are per attempt
  // How long a rendezvous or a collective waits for the other ranks (a rank that dies fails it at
  // once: its connections close). Long, as PyTorch's default: the ranks wait in the agreement
  // before an iteration while rank 0 evaluates metrics or writes a checkpoint, which can take
  // minutes (a few-shot test of 600 episodes on a CPU).
  std::chrono::milliseconds timeout{std::chrono::minutes(30)};
};

// The settings from RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT, TORCHELASTIC_USE_AGENT_STORE,
// TORCHELASTIC_RESTART_COUNT and BILEVEL_DISTRIBUTED_TIMEOUT (seconds) in `environment`;
// INVALID_ARGUMENT naming a missing or malformed one.
ProcessGroupSettings processGroupSettings(const std::map<std::string, std::string>& environment);

class ProcessGroup {
 public:
  // Joins the group (rendezvous at the master's TCP store): blocks until every rank has joined or
  // the timeout passes.
  explicit ProcessGroup(const ProcessGroupSettings& settings);
  // A group over a store the caller made (tests: an in-memory store shared by threads).
  ProcessGroup(const c10::intrusive_ptr<c10d::Store>& store, int rank, int worldSize, std::chrono::milliseconds timeout);
  ~ProcessGroup();

  int rank() const { return rank_; }
  int worldSize() const { return worldSize_; }
  // Each tensor replaced by its sum over the ranks (the same bits on every rank); one collective
  // per dtype and device among the tensors.
  void sum(TensorList& tensors) const;
  // Each tensor replaced by rank 0's; as for sum.
  void broadcast(TensorList& tensors) const;
  // Whether `flag` holds on any rank.
  bool any(bool flag) const;
  void barrier() const;
  // The collectives this process took part in so far, and the wall time they took (waiting for
  // the other ranks included): what bench:scale reports as the cost of the communication.
  struct Communication {
    int64_t collectives = 0;
    double milliseconds = 0;
  };
  Communication communication() const;

 private:
  template <typename Operation>
  void collective(const char* what, Operation operation) const;
  void flatCollective(const char* what, TensorList& tensors, bool sum) const;

  int rank_;
  int worldSize_;
  c10::intrusive_ptr<CollectiveBackend> group_;
  mutable std::atomic<int64_t> collectives_{0};
  mutable std::atomic<int64_t> nanoseconds_{0};
};

}  // namespace bilevel::core

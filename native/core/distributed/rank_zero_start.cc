#include "core/distributed/rank_zero_start.h"

#include <cstring>

#include "core/record_file.h"

namespace bilevel::core {
namespace {

// Rank 0's bytes on every rank: their length first, so the others can make room.
std::string bytesFromRankZero(std::string bytes, const ProcessGroup& group) {
  TensorList length{torch::tensor({static_cast<int64_t>(bytes.size())}, torch::kInt64)};
  group.broadcast(length);
  const int64_t count = length[0].item<int64_t>();
  TensorList payload{torch::empty({count}, torch::kUInt8)};
  if (group.rank() == 0) std::memcpy(payload[0].data_ptr(), bytes.data(), bytes.size());
  group.broadcast(payload);
  const auto* data = static_cast<const char*>(payload[0].data_ptr());
  return std::string(data, data + count);
}

}  // namespace

void startFromRankZero(Solver& solver, const ProcessGroup& group) {
  if (group.worldSize() == 1) return;
  const Problem& problem = solver.problem();
  TensorList starts = problem.upperVariables().initial;
  const TensorList& lower = problem.lowerVariables().initial;
  starts.insert(starts.end(), lower.begin(), lower.end());
  TensorList received = starts;
  group.broadcast(received);
  {
    torch::NoGradGuard noGrad;
    for (size_t i = 0; i < starts.size(); ++i) starts[i].copy_(received[i]);
  }
  const std::string source = "rank 0's state";
  const std::string state = bytesFromRankZero(group.rank() == 0 ? encodeRecords(solverState(solver, ""), source) : std::string(), group);
  if (group.rank() != 0) restoreSolverState(solver, decodeRecords(state, source, "solver state"), source);
}

}  // namespace bilevel::core

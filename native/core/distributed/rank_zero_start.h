// Where the ranks of a multi-process run start: from rank 0's problem starting values and rank 0's
// whole solver state (x, y, z, optimizer moments, the sampler, the iteration count, the global
// generator) as rank 0 holds them before the first iteration, restored from a checkpoint or not.
// So a rank on another machine needs neither rank 0's files nor the same random initialization.
#pragma once
#include "core/distributed/process_group.h"
#include "core/problem.h"
#include "core/solver.h"

namespace bilevel::core {

// Every rank calls it once, before its first iteration: a collective. The starting values of the
// problem the solver solves (which a fixed LL start reads every iteration) are overwritten in place
// with rank 0's.
void startFromRankZero(Solver& solver, const ProcessGroup& group);

}  // namespace bilevel::core

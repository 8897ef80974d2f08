// Data-parallel solving: every rank holds the same x, y (and z), draws the same global batches and
// evaluates F and f on its own rows of them; F and f are then the means over all ranks' rows, and
// every gradient taken through them (LL steps, hypergradients, Hessian-vector products, at any
// order) is the global one, because the variables enter each rank's objective through an identity
// whose backward sums over the ranks, and the objective leaves through a sum whose backward is the
// identity (each is the other's adjoint). So every solver runs unchanged, and all ranks stay equal.
// A problem whose objectives sum over rows, with a slice of y per row (a few-shot meta-batch: a
// head per task; Problem::batchRows), is split by rows too: each rank evaluates its rows with its
// slice of y, and the sums are not averaged.
// An evaluation on the full data (an empty batch) is the same on every rank and is not reduced.
// The ranks start alike through startFromRankZero (core/distributed/rank_zero_start.h).
#pragma once
#include <memory>

#include "core/distributed/process_group.h"
#include "core/problem.h"

namespace bilevel::core {

// The tensors summed over the ranks, differentiably (backward: the identity).
TensorList sumOverRanks(const TensorList& partial, const std::shared_ptr<const ProcessGroup>& group);
// The tensors unchanged, differentiably (backward: the sum over the ranks).
TensorList replicated(const TensorList& values, const std::shared_ptr<const ProcessGroup>& group);

// `problem` solved by `group`'s ranks together; its sampler's batches must split evenly into
// worldSize shards along their first dimension (INVALID_ARGUMENT otherwise, at the first draw), as
// must y's tensors where y has a slice per row (INVALID_ARGUMENT here).
std::shared_ptr<Problem> shardedProblem(std::shared_ptr<Problem> problem, std::shared_ptr<const ProcessGroup> group);

}  // namespace bilevel::core

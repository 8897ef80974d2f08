// Episodes as the objectives see them: a meta-batch of episodes stacked into one Batch, and the
// sampler that hands each UL iteration its own meta-batch of training episodes.
#pragma once
#include <memory>

#include "core/data/sampler.h"
#include "core/tasks/few_shot/episodes.h"

namespace bilevel::core {

// Episodes first .. first + count - 1 of a split as one batch: "supportImages" / "queryImages"
// [count, n, C, S, S] scaled to [0, 1] in options' dtype and device, "supportLabels" /
// "queryLabels" [count, n].
Batch episodeBatch(const ClassImages& split, const std::string& splitName, uint64_t seed, int64_t first, int64_t count,
                   const EpisodeShape& shape, const torch::TensorOptions& options);

// UL iteration t gets training episodes metaBatch t .. metaBatch (t + 1) - 1, for F and for every
// LL step of the iteration; the episode cursor is the sampler's whole state.
std::unique_ptr<Sampler> episodeSampler(std::shared_ptr<const ClassImages> train, const std::string& splitName,
                                        EpisodeShape shape, int64_t metaBatch, uint64_t seed, torch::TensorOptions options);

}  // namespace bilevel::core

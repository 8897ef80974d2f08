// Few-shot episodes (docs/algorithms.md §13): N ways, K shots and Q queries per class drawn from
// one split's classes. The episode of (seed, split, index) is a pure function of them: it has a
// generator of its own, so every method, every process and a resumed run see the same episodes,
// whatever was drawn before.
#pragma once
#include <string>
#include <vector>

#include "core/images/class_images.h"

namespace bilevel::core {

struct EpisodeShape {
  int64_t ways = 5;
  int64_t shots = 1;
  int64_t queries = 15;
};

struct Episode {
  // Class-major: the shots (queries) of label 0 first. Labels are 0..ways-1 in the episode's own
  // order of its classes; support and query images of a class are distinct images.
  torch::Tensor supportImages;  // uint8 [ways * shots, C, H, W]
  torch::Tensor supportLabels;  // int64 [ways * shots]
  torch::Tensor queryImages;    // uint8 [ways * queries, C, H, W]
  torch::Tensor queryLabels;    // int64 [ways * queries]
  std::vector<int64_t> classes; // the split's class index of each label
};

// Refuses a shape the split cannot serve: more ways than classes, or a class with fewer than
// shots + queries images (named).
void checkEpisodeShape(const ClassImages& split, const std::string& splitName, const EpisodeShape& shape);

// The episode `index` of the split named splitName under seed.
Episode drawEpisode(const ClassImages& split, const std::string& splitName, uint64_t seed, int64_t index,
                    const EpisodeShape& shape);

}  // namespace bilevel::core

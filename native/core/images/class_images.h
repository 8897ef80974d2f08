// Images grouped by class: what an episodic split of a few-shot task draws its episodes from,
// whatever the files were (IDX digits, folders of PNG / JPEG, Omniglot's layout, CSV splits).
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

namespace bilevel::core {

struct ClassImages {
  std::vector<std::string> names;     // one per class, in a stable order (sorted, or as the source lists them)
  std::vector<torch::Tensor> images;  // per class: uint8 [count, channels, height, width], all of one shape but count

  int64_t classes() const { return static_cast<int64_t>(names.size()); }
};

}  // namespace bilevel::core

// Fully connected models on flat inputs [B, in]: a linear map and a multilayer perceptron.
#pragma once
#include <memory>
#include <vector>

#include "core/models/layers.h"
#include "core/models/model.h"

namespace bilevel::core::models {

// input W^T + b: parameters weight [out, in], bias [out], both starting as init.
std::shared_ptr<const Model> linear(int64_t in, int64_t out, Init init);

// Linear layers of the given widths {in, h1, ..., out} (at least two) with the activation between
// them and none after the last: parameters layer1.weight [h1, in], layer1.bias [h1], layer2.weight,
// ..., all starting as init with their layer's fan-in. Refused (INVALID_ARGUMENT): fewer than two
// widths, a width < 1.
std::shared_ptr<const Model> mlp(const std::vector<int64_t>& widths, Activation activation, Init init);

}  // namespace bilevel::core::models

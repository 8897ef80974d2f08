// Conversions between JS values and torch types.
#pragma once
#include <napi.h>
#include <torch/torch.h>

#include <string>
#include <vector>

namespace bilevel::binding {

Napi::Array toJsShape(Napi::Env env, torch::IntArrayRef sizes);
// An integer number in int64's range; anything else (NaN, 2.5, 1e300, a string) is refused.
int64_t toInt64(const Napi::Value& value, const std::string& field);
int64_t toNonNegativeInt64(const Napi::Value& value, const std::string& field);
std::vector<int64_t> toInt64Vector(const Napi::Value& value, const char* field);
std::string dtypeName(torch::ScalarType type);
torch::ScalarType parseDtype(const Napi::Value& value);
torch::Device parseDevice(const Napi::Value& value);
std::string shapeString(const torch::Tensor& t);
std::string firstLine(const std::string& s);
// Copies a contiguous CPU view of t into a TypedArray of its dtype.
Napi::Value toTypedArray(Napi::Env env, const torch::Tensor& t);
// Builds a tensor from a TypedArray (copied) with the given shape.
torch::Tensor fromTypedArray(const Napi::TypedArray& data, std::vector<int64_t> shape);

}  // namespace bilevel::binding

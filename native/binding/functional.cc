#include <cmath>

#include "binding/convert.h"
#include "binding/errors.h"
#include "binding/register.h"
#include "binding/tensor_wrap.h"

namespace bilevel::binding {
namespace {

namespace F = torch::nn::functional;

std::string shapesOf(const std::vector<torch::Tensor>& ts) {
  std::string s;
  for (const auto& t : ts) s += (s.empty() ? "" : ", ") + shapeString(t);
  return s;
}

// Runs a torch computation and names every input's shape when it fails.
template <typename Body>
Napi::Value withShapes(Napi::Env env, const std::vector<torch::Tensor>& inputs, Body&& body) {
  try {
    return TensorWrap::wrap(env, body());
  } catch (const CodedError&) {
    throw;
  } catch (const std::exception& e) {
    const std::string message = torchMessage(e);
    throw CodedError(classifyException(e), shapesOf(inputs) + ": " + firstLine(message), message);
  }
}

// An optional tensor argument: null or undefined for none; anything else must be a live tensor.
torch::Tensor optionalTensor(const Napi::Value& value) {
  return value.IsNull() || value.IsUndefined() ? torch::Tensor() : TensorWrap::unwrap(value);
}

#define BILEVEL_FUNCTION(name) Napi::Value name(const Napi::CallbackInfo& info)

BILEVEL_FUNCTION(cat) {
  return guarded(info.Env(), "cat", [&] {
    auto ts = TensorWrap::unwrapList(info[0], "tensors");
    return withShapes(info.Env(), ts, [&] { return torch::cat(ts, toInt64(info[1], "dim")); });
  });
}
BILEVEL_FUNCTION(stack) {
  return guarded(info.Env(), "stack", [&] {
    auto ts = TensorWrap::unwrapList(info[0], "tensors");
    return withShapes(info.Env(), ts, [&] { return torch::stack(ts, toInt64(info[1], "dim")); });
  });
}
// where(condition, a, b)
BILEVEL_FUNCTION(where) {
  return guarded(info.Env(), "where", [&] {
    auto ts = TensorWrap::unwrapList(info[0], "tensors");
    if (ts.size() != 3) throw CodedError("INVALID_ARGUMENT", "needs condition, a and b");
    if (ts[0].scalar_type() != torch::kBool) throw CodedError("DTYPE", "condition must be bool, got " + shapeString(ts[0]));
    return withShapes(info.Env(), ts, [&] { return torch::where(ts[0], ts[1], ts[2]); });
  });
}
// slice(t, dim, start, end, step)
BILEVEL_FUNCTION(slice) {
  return guarded(info.Env(), "slice", [&] {
    const auto& t = TensorWrap::unwrap(info[0]);
    if (toInt64(info[4], "step") <= 0) throw CodedError("INVALID_ARGUMENT", "step must be positive");
    return withShapes(info.Env(), {t}, [&] {
      return t.slice(toInt64(info[1], "dim"), toInt64(info[2], "start"), toInt64(info[3], "end"), toInt64(info[4], "step"));
    });
  });
}
// indexSelect(t, dim, index) / gather(t, dim, index)
BILEVEL_FUNCTION(indexSelect) {
  return guarded(info.Env(), "indexSelect", [&] {
    const auto& t = TensorWrap::unwrap(info[0]);
    const auto& index = TensorWrap::unwrap(info[2]);
    return withShapes(info.Env(), {t, index}, [&] { return t.index_select(toInt64(info[1], "dim"), index); });
  });
}
BILEVEL_FUNCTION(gather) {
  return guarded(info.Env(), "gather", [&] {
    const auto& t = TensorWrap::unwrap(info[0]);
    const auto& index = TensorWrap::unwrap(info[2]);
    return withShapes(info.Env(), {t, index}, [&] { return t.gather(toInt64(info[1], "dim"), index); });
  });
}
// softmax(t, dim, log: boolean)
BILEVEL_FUNCTION(softmax) {
  return guarded(info.Env(), "softmax", [&] {
    const auto& t = TensorWrap::unwrap(info[0]);
    const int64_t dim = toInt64(info[1], "dim");
    return withShapes(info.Env(), {t}, [&] { return info[2].ToBoolean().Value() ? t.log_softmax(dim) : t.softmax(dim); });
  });
}
// crossEntropy(logits [N, C], target int64 [N], reduction: 'none'|'mean'|'sum')
BILEVEL_FUNCTION(crossEntropy) {
  return guarded(info.Env(), "crossEntropy", [&] {
    const auto& logits = TensorWrap::unwrap(info[0]);
    const auto& target = TensorWrap::unwrap(info[1]);
    const std::string reduction = info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "";
    F::CrossEntropyFuncOptions options;
    if (reduction == "none") options.reduction(torch::kNone);
    else if (reduction == "sum") options.reduction(torch::kSum);
    else if (reduction == "mean") options.reduction(torch::kMean);
    else throw CodedError("INVALID_ARGUMENT", "reduction must be 'none', 'mean' or 'sum'");
    if (target.scalar_type() != torch::kInt64) throw CodedError("DTYPE", "target must be int64 class indices, got " + shapeString(target));
    return withShapes(info.Env(), {logits, target}, [&] { return F::cross_entropy(logits, target, options); });
  });
}
// linear(input, weight, bias | null)
BILEVEL_FUNCTION(linear) {
  return guarded(info.Env(), "linear", [&] {
    const auto& input = TensorWrap::unwrap(info[0]);
    const auto& weight = TensorWrap::unwrap(info[1]);
    torch::Tensor bias = optionalTensor(info[2]);
    return withShapes(info.Env(), {input, weight}, [&] { return torch::linear(input, weight, bias); });
  });
}
// conv2d(input, weight, bias | null, stride, padding)
BILEVEL_FUNCTION(conv2d) {
  return guarded(info.Env(), "conv2d", [&] {
    const auto& input = TensorWrap::unwrap(info[0]);
    const auto& weight = TensorWrap::unwrap(info[1]);
    torch::Tensor bias = optionalTensor(info[2]);
    const auto stride = toInt64Vector(info[3], "stride");
    const auto padding = toInt64Vector(info[4], "padding");
    return withShapes(info.Env(), {input, weight}, [&] { return torch::conv2d(input, weight, bias, stride, padding); });
  });
}
// pool2d(kind: 'max'|'avg', input, kernel, stride)
BILEVEL_FUNCTION(pool2d) {
  return guarded(info.Env(), "pool2d", [&] {
    const std::string kind = info[0].ToString();
    const auto& input = TensorWrap::unwrap(info[1]);
    const auto kernel = toInt64Vector(info[2], "kernel");
    const auto stride = toInt64Vector(info[3], "stride");
    if (kind != "max" && kind != "avg") throw CodedError("INVALID_ARGUMENT", "kind must be 'max' or 'avg'");
    return withShapes(info.Env(), {input}, [&] {
      return kind == "max" ? torch::max_pool2d(input, kernel, stride) : torch::avg_pool2d(input, kernel, stride);
    });
  });
}
// batchNorm(input, weight | null, bias | null, eps): normalizes with the batch's own statistics.
BILEVEL_FUNCTION(batchNorm) {
  return guarded(info.Env(), "batchNorm", [&] {
    const auto& input = TensorWrap::unwrap(info[0]);
    torch::Tensor weight = optionalTensor(info[1]);
    torch::Tensor bias = optionalTensor(info[2]);
    const double eps = info[3].IsNumber() ? info[3].As<Napi::Number>().DoubleValue() : NAN;
    if (!(eps >= 0 && std::isfinite(eps))) throw CodedError("INVALID_ARGUMENT", "eps must be a finite number >= 0");
    return withShapes(info.Env(), {input}, [&] {
      return torch::batch_norm(input, weight, bias, {}, {}, /*training=*/true, 0.0, eps, /*cudnn_enabled=*/false);
    });
  });
}

#undef BILEVEL_FUNCTION

}  // namespace

void registerFunctional(Napi::Env env, Napi::Object exports) {
  exports.Set("cat", Napi::Function::New<cat>(env, "cat"));
  exports.Set("stack", Napi::Function::New<stack>(env, "stack"));
  exports.Set("where", Napi::Function::New<where>(env, "where"));
  exports.Set("slice", Napi::Function::New<slice>(env, "slice"));
  exports.Set("indexSelect", Napi::Function::New<indexSelect>(env, "indexSelect"));
  exports.Set("gather", Napi::Function::New<gather>(env, "gather"));
  exports.Set("softmax", Napi::Function::New<softmax>(env, "softmax"));
  exports.Set("crossEntropy", Napi::Function::New<crossEntropy>(env, "crossEntropy"));
  exports.Set("linear", Napi::Function::New<linear>(env, "linear"));
  exports.Set("conv2d", Napi::Function::New<conv2d>(env, "conv2d"));
  exports.Set("pool2d", Napi::Function::New<pool2d>(env, "pool2d"));
  exports.Set("batchNorm", Napi::Function::New<batchNorm>(env, "batchNorm"));
}

}  // namespace bilevel::binding

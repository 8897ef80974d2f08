// The JS object that owns one torch::Tensor.
#pragma once
#include <napi.h>
#include <torch/torch.h>

#include "binding/external_memory.h"

namespace bilevel::binding {

class TensorWrap : public Napi::ObjectWrap<TensorWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  static Napi::Object wrap(Napi::Env env, torch::Tensor tensor);
  // Throws DISPOSED / INVALID_ARGUMENT when value is not a live tensor.
  static const torch::Tensor& unwrap(const Napi::Value& value);
  // A non-empty JS array of live tensors; field names the argument in errors.
  static std::vector<torch::Tensor> unwrapList(const Napi::Value& value, const char* field, bool mayBeEmpty = false);
  // Wraps each tensor; the array's tensors can be released together after a callback.
  static Napi::Array wrapList(Napi::Env env, const std::vector<torch::Tensor>& tensors);
  // Frees the tensor behind value now if it is a live tensor (no-op otherwise).
  static void releaseValue(const Napi::Value& value);

  explicit TensorWrap(const Napi::CallbackInfo& info);
  ~TensorWrap() override;

 private:
  const torch::Tensor& live() const;
  void release();

  Napi::Value shape(const Napi::CallbackInfo& info);
  Napi::Value dtype(const Napi::CallbackInfo& info);
  Napi::Value device(const Napi::CallbackInfo& info);
  Napi::Value requiresGrad(const Napi::CallbackInfo& info);
  Napi::Value setRequiresGrad(const Napi::CallbackInfo& info);
  Napi::Value toArray(const Napi::CallbackInfo& info);
  Napi::Value item(const Napi::CallbackInfo& info);
  Napi::Value binary(const Napi::CallbackInfo& info);
  Napi::Value unary(const Napi::CallbackInfo& info);
  Napi::Value reduce(const Napi::CallbackInfo& info);
  Napi::Value detach(const Napi::CallbackInfo& info);
  Napi::Value reshape(const Napi::CallbackInfo& info);
  Napi::Value clamp(const Napi::CallbackInfo& info);
  Napi::Value norm(const Napi::CallbackInfo& info);
  Napi::Value to(const Napi::CallbackInfo& info);
  Napi::Value inplace(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);
  Napi::Value isDisposed(const Napi::CallbackInfo& info);

  torch::Tensor tensor_;
  ExternalMemory memory_;  // tensor_'s bytes, reported to V8
};

}  // namespace bilevel::binding

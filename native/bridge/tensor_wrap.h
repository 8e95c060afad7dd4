// The JS Tensor class: a LibTorch tensor owned by a JS object. Created from a TypedArray and
// a shape, or by native code returning results; freed by dispose() or, failing that, by the
// garbage collector's finalizer. Every live one is counted (binding.liveTensorCount()).
#pragma once

#include <napi.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include <ATen/core/Tensor.h>

namespace imlm::bridge {

class TensorWrap : public Napi::ObjectWrap<TensorWrap> {
 public:
  /** Defines the class and stores its constructor in the environment's AddonData. */
  static Napi::Function define(Napi::Env env);
  /** A new JS Tensor that owns `tensor`. */
  static Napi::Object wrap(Napi::Env env, at::Tensor tensor);
  /** Whether `value` is a JS Tensor (disposed or not). */
  static bool isTensor(Napi::Env env, const Napi::Value& value);
  /** The tensor inside a JS Tensor; throws ERR_INVALID_ARG / ERR_DISPOSED otherwise. */
  static at::Tensor unwrap(Napi::Env env, const Napi::Value& value, const char* argName);

  explicit TensorWrap(const Napi::CallbackInfo& args);
  ~TensorWrap() override;

 private:
  Napi::Value shape(const Napi::CallbackInfo& args);
  Napi::Value dtype(const Napi::CallbackInfo& args);
  Napi::Value device(const Napi::CallbackInfo& args);
  Napi::Value numel(const Napi::CallbackInfo& args);
  Napi::Value disposed(const Napi::CallbackInfo& args);
  Napi::Value toTypedArray(const Napi::CallbackInfo& args);
  Napi::Value to(const Napi::CallbackInfo& args);
  Napi::Value dispose(const Napi::CallbackInfo& args);

  void adopt(Napi::Env env, at::Tensor tensor);
  void release(bool adjustExternalMemory);
  const at::Tensor& live(Napi::Env env) const;

  at::Tensor tensor_;
  bool owns_ = false;
  int64_t externalBytes_ = 0;
  std::shared_ptr<std::atomic<int64_t>> liveCounter_;
};

}  // namespace imlm::bridge

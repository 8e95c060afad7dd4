// Reading the evaluation functions' option objects at the boundary: typed, optional fields with
// defaults, each error naming the field. lib/eval validates first; this only type-checks.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

#include "bridge/errors.h"
#include "bridge/tensor_wrap.h"

namespace imlm::bridge {

class OptionFields {
 public:
  OptionFields(Napi::Env env, const Napi::Value& value, std::string what) : env_(env), what_(std::move(what)) {
    if (!value.IsObject()) throwInvalidArg(env_, "expected " + what_ + " to be an object");
    object_ = value.As<Napi::Object>();
  }

  bool has(const char* key) const {
    Napi::Value v = object_.Get(key);
    return !v.IsUndefined() && !v.IsNull();
  }
  Napi::Value get(const char* key) const { return object_.Get(key); }

  std::string string(const char* key, const std::string& fallback) const {
    if (!has(key)) return fallback;
    Napi::Value v = object_.Get(key);
    if (!v.IsString()) throwInvalidArg(env_, "expected " + name(key) + " to be a string");
    return v.As<Napi::String>().Utf8Value();
  }
  double number(const char* key, double fallback) const {
    if (!has(key)) return fallback;
    Napi::Value v = object_.Get(key);
    if (!v.IsNumber()) throwInvalidArg(env_, "expected " + name(key) + " to be a number");
    return v.As<Napi::Number>().DoubleValue();
  }
  int64_t integer(const char* key, int64_t fallback, int64_t minimum = 0) const {
    const double d = number(key, static_cast<double>(fallback));
    if (d != static_cast<double>(static_cast<int64_t>(d)) || d < static_cast<double>(minimum)) {
      throwInvalidArg(env_, "expected " + name(key) + " to be an integer >= " + std::to_string(minimum));
    }
    return static_cast<int64_t>(d);
  }
  bool boolean(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    Napi::Value v = object_.Get(key);
    if (!v.IsBoolean()) throwInvalidArg(env_, "expected " + name(key) + " to be a boolean");
    return v.As<Napi::Boolean>().Value();
  }
  at::Tensor tensor(const char* key) const { return TensorWrap::unwrap(env_, object_.Get(key), name(key).c_str()); }
  at::Tensor optionalTensor(const char* key) const { return has(key) ? tensor(key) : at::Tensor(); }

  std::string name(const char* key) const { return what_ + "." + key; }

 private:
  Napi::Env env_;
  std::string what_;
  Napi::Object object_;
};

}  // namespace imlm::bridge

// Reading JavaScript arguments at the boundary: every field is required and typed (TypeScript
// resolves defaults before calling, lib/eval/options.ts and lib/config/train-config.ts), and
// every failure is one ERR_INVALID_ARG reading "expected <path> to be <kind> but received
// <value>", the wording of lib/config/validate.ts. JsObject reads the fields of an options
// object; JsArgs the positional arguments of a call.
#pragma once

#include <napi.h>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace at {
class Tensor;
}

namespace imlm::bridge {

/** How a received value reads in messages: undefined, null, true, 3, 'text', [1,2], {"a":1}. */
std::string describeValue(Napi::Env env, const Napi::Value& value);

/** Throws ERR_INVALID_ARG "expected <path> to be <kind> but received <value>". */
[[noreturn]] void throwExpected(Napi::Env env, const std::string& path, const std::string& kind, const Napi::Value& received);

/** Reads one typed value found at `path` (a field or an argument). */
class JsValue {
 public:
  JsValue(Napi::Env env, Napi::Value value, std::string path) : env_(env), value_(value), path_(std::move(path)) {}

  /** Neither undefined nor null. */
  bool given() const { return !value_.IsUndefined() && !value_.IsNull(); }
  const Napi::Value& raw() const { return value_; }
  const std::string& path() const { return path_; }

  std::string string() const;
  double number() const;
  /** A finite number in [minimum, maximum]. */
  double number(double minimum, double maximum) const;
  /** A finite number > 0. */
  double positiveNumber() const;
  int64_t integer(int64_t minimum = std::numeric_limits<int64_t>::min(),
                  int64_t maximum = std::numeric_limits<int64_t>::max()) const;
  bool boolean() const;
  std::vector<double> numbers() const;
  std::vector<int64_t> integers(int64_t minimum, int64_t maximum = std::numeric_limits<int64_t>::max()) const;
  template <size_t N>
  std::array<double, N> numbers() const;
  template <size_t N>
  std::array<int64_t, N> integers(int64_t minimum) const;
  /** One of `options`' labels, mapped to its value. */
  template <typename Enum>
  Enum choice(std::initializer_list<std::pair<const char*, Enum>> options) const;
  /** A Tensor (native/bridge/tensor_wrap.h). */
  at::Tensor tensor() const;
  /** A function, or undefined (no callback). */
  Napi::Value optionalFunction() const;
  /** The array's items, each named path[i]. */
  std::vector<JsValue> items() const;

 private:
  [[noreturn]] void fail(const std::string& kind) const { throwExpected(env_, path_, kind, value_); }
  template <typename Enum>
  static std::string labelsOf(std::initializer_list<std::pair<const char*, Enum>> options);

  Napi::Env env_;
  Napi::Value value_;
  std::string path_;
};

/** The fields of one JS object, each named `<path>.<key>` in errors. */
class JsObject {
 public:
  JsObject(Napi::Env env, const Napi::Value& value, std::string path);
  JsObject(const JsValue& value) : JsObject(value.raw().Env(), value.raw(), value.path()) {}

  /** The field, which must be given (not undefined). */
  JsValue field(const char* key) const;
  /** The field as it is, undefined included (for fields whose absence means "none"). */
  JsValue optional(const char* key) const { return JsValue(env_, object_.Get(key), path_ + "." + key); }

  std::string string(const char* key) const { return field(key).string(); }
  double number(const char* key) const { return field(key).number(); }
  double number(const char* key, double minimum, double maximum) const { return field(key).number(minimum, maximum); }
  double positiveNumber(const char* key) const { return field(key).positiveNumber(); }
  int64_t integer(const char* key, int64_t minimum = std::numeric_limits<int64_t>::min(),
                  int64_t maximum = std::numeric_limits<int64_t>::max()) const {
    return field(key).integer(minimum, maximum);
  }
  bool boolean(const char* key) const { return field(key).boolean(); }
  at::Tensor tensor(const char* key) const;
  /** A callback, or undefined when the field is (no callback). */
  Napi::Value optionalFunction(const char* key) const { return optional(key).optionalFunction(); }
  /** The Tensor, or an undefined at::Tensor when the field is undefined or null. */
  at::Tensor optionalTensor(const char* key) const;
  JsObject object(const char* key) const { return JsObject(field(key)); }
  template <typename Enum>
  Enum choice(const char* key, std::initializer_list<std::pair<const char*, Enum>> options) const {
    return field(key).choice(options);
  }

  const Napi::Object& raw() const { return object_; }
  const std::string& path() const { return path_; }

 private:
  Napi::Env env_;
  Napi::Object object_;
  std::string path_;
};

/** The positional arguments of one call, each read under the name given. */
class JsArgs {
 public:
  explicit JsArgs(const Napi::CallbackInfo& args) : args_(args) {}

  /** args[index] (undefined past the end), named `name` in errors. */
  JsValue at(size_t index, const char* name) const {
    return JsValue(args_.Env(), index < args_.Length() ? args_[index] : args_.Env().Undefined(), name);
  }
  std::string string(size_t index, const char* name) const { return at(index, name).string(); }
  double number(size_t index, const char* name) const { return at(index, name).number(); }
  int64_t integer(size_t index, const char* name, int64_t minimum = std::numeric_limits<int64_t>::min(),
                  int64_t maximum = std::numeric_limits<int64_t>::max()) const {
    return at(index, name).integer(minimum, maximum);
  }
  bool boolean(size_t index, const char* name) const { return at(index, name).boolean(); }
  at::Tensor tensor(size_t index, const char* name) const;
  JsObject object(size_t index, const char* name) const { return JsObject(at(index, name)); }

 private:
  const Napi::CallbackInfo& args_;
};

template <size_t N>
std::array<double, N> JsValue::numbers() const {
  const std::vector<double> all = numbers();
  if (all.size() != N) fail("an array of " + std::to_string(N) + " numbers");
  std::array<double, N> out{};
  for (size_t i = 0; i < N; ++i) out[i] = all[i];
  return out;
}

template <size_t N>
std::array<int64_t, N> JsValue::integers(int64_t minimum) const {
  const std::vector<int64_t> all = integers(minimum);
  if (all.size() != N) fail("an array of " + std::to_string(N) + " integers");
  std::array<int64_t, N> out{};
  for (size_t i = 0; i < N; ++i) out[i] = all[i];
  return out;
}

template <typename Enum>
std::string JsValue::labelsOf(std::initializer_list<std::pair<const char*, Enum>> options) {
  std::string text;
  for (const auto& option : options) text += (text.empty() ? "'" : ", '") + std::string(option.first) + "'";
  return text;
}

template <typename Enum>
Enum JsValue::choice(std::initializer_list<std::pair<const char*, Enum>> options) const {
  if (value_.IsString()) {
    const std::string s = value_.As<Napi::String>().Utf8Value();
    for (const auto& [label, value] : options) {
      if (s == label) return value;
    }
  }
  fail("one of " + labelsOf(options));
}

}  // namespace imlm::bridge

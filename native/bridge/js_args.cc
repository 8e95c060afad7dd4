#include "bridge/js_args.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "bridge/error_conversion.h"
#include "bridge/tensor_wrap.h"

namespace imlm::bridge {
namespace {

constexpr size_t kMaxDescribed = 80;

/** A bound as a message shows it: integers in full, others in the shortest text that reads back. */
std::string numberText(double d) {
  char text[32];
  if (d == std::trunc(d) && std::fabs(d) < 1e15) {
    std::snprintf(text, sizeof text, "%.0f", d);
    return text;
  }
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(text, sizeof text, "%.*g", precision, d);
    if (std::strtod(text, nullptr) == d) break;
  }
  return text;
}

std::string bound(const char* relation, int64_t limit) { return std::string(" ") + relation + " " + std::to_string(limit); }

/** "an integer", "an integer >= 1", "an integer in [0, 4]". */
std::string integerKind(int64_t minimum, int64_t maximum) {
  constexpr int64_t kLowest = std::numeric_limits<int64_t>::min();
  constexpr int64_t kHighest = std::numeric_limits<int64_t>::max();
  if (minimum == kLowest && maximum == kHighest) return "an integer";
  if (maximum == kHighest) return "an integer" + bound(">=", minimum);
  if (minimum == kLowest) return "an integer" + bound("<=", maximum);
  return "an integer in [" + std::to_string(minimum) + ", " + std::to_string(maximum) + "]";
}

std::string numberKind(double minimum, double maximum) {
  const bool low = std::isfinite(minimum), high = std::isfinite(maximum);
  if (low && high) return "a number in [" + numberText(minimum) + ", " + numberText(maximum) + "]";
  if (low) return "a number >= " + numberText(minimum);
  if (high) return "a number <= " + numberText(maximum);
  return "a finite number";
}

}  // namespace

std::string describeValue(Napi::Env env, const Napi::Value& value) {
  if (value.IsUndefined()) return "undefined";
  if (value.IsNull()) return "null";
  if (value.IsBoolean()) return value.As<Napi::Boolean>().Value() ? "true" : "false";
  if (value.IsNumber()) return value.ToString().Utf8Value();  // as JavaScript prints it: 70000, 1.5, NaN
  if (value.IsString()) {
    const std::string s = value.As<Napi::String>().Utf8Value();
    return "'" + (s.size() > kMaxDescribed ? s.substr(0, kMaxDescribed - 3) + "..." : s) + "'";
  }
  if (value.IsFunction()) return "a function";
  if (value.IsObject() && TensorWrap::isTensor(env, value)) return "a Tensor";
  try {
    Napi::Object json = env.Global().Get("JSON").As<Napi::Object>();
    Napi::Value text = json.Get("stringify").As<Napi::Function>().Call(json, {value});
    if (text.IsString()) {
      const std::string s = text.As<Napi::String>().Utf8Value();
      return s.size() > kMaxDescribed ? s.substr(0, kMaxDescribed - 3) + "..." : s;
    }
  } catch (const Napi::Error&) {
    // A cycle or a BigInt inside: described by its type below.
  }
  return value.IsArray() ? "an array" : "an object";
}

void throwExpected(Napi::Env env, const std::string& path, const std::string& kind, const Napi::Value& received) {
  throwInvalidArg(env, "expected " + path + " to be " + kind + " but received " + describeValue(env, received));
}

std::string JsValue::string() const {
  if (!value_.IsString()) fail("a string");
  return value_.As<Napi::String>().Utf8Value();
}

double JsValue::number() const {
  if (!value_.IsNumber()) fail("a number");
  return value_.As<Napi::Number>().DoubleValue();
}

double JsValue::number(double minimum, double maximum) const {
  const double d = value_.IsNumber() ? value_.As<Napi::Number>().DoubleValue() : NAN;
  if (!std::isfinite(d) || d < minimum || d > maximum) fail(numberKind(minimum, maximum));
  return d;
}

double JsValue::positiveNumber() const {
  const double d = value_.IsNumber() ? value_.As<Napi::Number>().DoubleValue() : NAN;
  if (!std::isfinite(d) || !(d > 0)) fail("a number > 0");
  return d;
}

int64_t JsValue::integer(int64_t minimum, int64_t maximum) const {
  const double d = value_.IsNumber() ? value_.As<Napi::Number>().DoubleValue() : NAN;
  // 2^63: the first double past int64_t's range.
  constexpr double kLimit = 9223372036854775808.0;
  if (!std::isfinite(d) || d != std::trunc(d) || d < -kLimit || d >= kLimit) fail(integerKind(minimum, maximum));
  const auto i = static_cast<int64_t>(d);
  if (i < minimum || i > maximum) fail(integerKind(minimum, maximum));
  return i;
}

bool JsValue::boolean() const {
  if (!value_.IsBoolean()) fail("a boolean");
  return value_.As<Napi::Boolean>().Value();
}

std::vector<JsValue> JsValue::items() const {
  if (!value_.IsArray()) fail("an array");
  Napi::Array array = value_.As<Napi::Array>();
  std::vector<JsValue> out;
  out.reserve(array.Length());
  for (uint32_t i = 0; i < array.Length(); ++i) out.emplace_back(env_, array.Get(i), path_ + "[" + std::to_string(i) + "]");
  return out;
}

std::vector<double> JsValue::numbers() const {
  if (!value_.IsArray()) fail("an array of numbers");
  std::vector<double> out;
  for (const JsValue& item : items()) out.push_back(item.number());
  return out;
}

std::vector<int64_t> JsValue::integers(int64_t minimum, int64_t maximum) const {
  if (!value_.IsArray()) fail("an array of integers");
  std::vector<int64_t> out;
  for (const JsValue& item : items()) out.push_back(item.integer(minimum, maximum));
  return out;
}

at::Tensor JsValue::tensor() const { return TensorWrap::unwrap(env_, value_, path_.c_str()); }

Napi::Value JsValue::optionalFunction() const {
  if (!value_.IsUndefined() && !value_.IsFunction()) fail("a function or undefined");
  return value_;
}

JsObject::JsObject(Napi::Env env, const Napi::Value& value, std::string path) : env_(env), path_(std::move(path)) {
  if (!value.IsObject() || value.IsArray() || value.IsFunction()) throwExpected(env_, path_, "an object", value);
  object_ = value.As<Napi::Object>();
}

JsValue JsObject::field(const char* key) const {
  JsValue v = optional(key);
  if (v.raw().IsUndefined()) throwExpected(env_, v.path(), "given (TypeScript passes every field resolved)", v.raw());
  return v;
}

at::Tensor JsObject::tensor(const char* key) const { return field(key).tensor(); }

at::Tensor JsObject::optionalTensor(const char* key) const {
  JsValue v = optional(key);
  return v.given() ? v.tensor() : at::Tensor();
}

at::Tensor JsArgs::tensor(size_t index, const char* name) const { return at(index, name).tensor(); }

}  // namespace imlm::bridge

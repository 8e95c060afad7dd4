#include "bridge/map_args.h"

#include <string>

namespace imlm::bridge {
namespace {

/** Calls `each(entry)` for every own enumerable property of `value`, if it is given. */
template <typename Each>
void forEachEntry(const JsValue& value, Each&& each) {
  if (value.raw().IsUndefined()) return;
  JsObject o(value);
  Napi::Array keys = o.raw().GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    const std::string key = keys.Get(i).As<Napi::String>().Utf8Value();
    each(key, o.optional(key.c_str()));
  }
}

}  // namespace

io::TensorMap tensorMapArg(const JsValue& value) {
  io::TensorMap out;
  forEachEntry(value, [&](const std::string& key, const JsValue& entry) { out[key] = entry.tensor(); });
  return out;
}

io::Metadata stringMapArg(const JsValue& value) {
  io::Metadata out;
  forEachEntry(value, [&](const std::string& key, const JsValue& entry) { out[key] = entry.string(); });
  return out;
}

}  // namespace imlm::bridge

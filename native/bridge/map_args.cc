#include "bridge/map_args.h"

#include <string>

#include "bridge/errors.h"
#include "bridge/tensor_wrap.h"

namespace imlm::bridge {
namespace {

/** Calls `each(key, value)` for every own enumerable property of args[index], if given. */
template <typename Each>
void forEachEntry(const Napi::CallbackInfo& args, size_t index, const char* what, Each&& each) {
  if (args.Length() <= index || args[index].IsUndefined()) return;
  if (!args[index].IsObject()) throwInvalidArg(args.Env(), std::string("expected ") + what + " to be an object");
  Napi::Object o = args[index].As<Napi::Object>();
  Napi::Array keys = o.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    const std::string key = keys.Get(i).As<Napi::String>().Utf8Value();
    each(key, o.Get(key));
  }
}

}  // namespace

io::TensorMap tensorMapArg(const Napi::CallbackInfo& args, size_t index, const char* what) {
  io::TensorMap out;
  forEachEntry(args, index, what, [&](const std::string& key, const Napi::Value& v) {
    out[key] = TensorWrap::unwrap(args.Env(), v, (std::string(what) + "['" + key + "']").c_str());
  });
  return out;
}

io::Metadata stringMapArg(const Napi::CallbackInfo& args, size_t index, const char* what) {
  io::Metadata out;
  forEachEntry(args, index, what, [&](const std::string& key, const Napi::Value& v) {
    if (!v.IsString()) throwInvalidArg(args.Env(), std::string("expected ") + what + "['" + key + "'] to be a string");
    out[key] = v.As<Napi::String>().Utf8Value();
  });
  return out;
}

}  // namespace imlm::bridge

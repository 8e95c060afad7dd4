#include "bridge/dist_convert.h"

#include <string>

#include "bridge/errors.h"
#include "core/distributed/process_group.h"

namespace imlm::bridge {
namespace {

int64_t integerField(Napi::Env env, const Napi::Object& o, const char* key, const char* what, int64_t fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1.5;
  if (d < 0 || d != static_cast<double>(static_cast<int64_t>(d))) {
    throwInvalidArg(env, std::string("expected ") + what + "." + key + " to be a non-negative integer");
  }
  return static_cast<int64_t>(d);
}

double numberField(Napi::Env env, const Napi::Object& o, const char* key, const char* what, double fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber() || !(v.As<Napi::Number>().DoubleValue() > 0)) {
    throwInvalidArg(env, std::string("expected ") + what + "." + key + " to be a positive number");
  }
  return v.As<Napi::Number>().DoubleValue();
}

}  // namespace

dist::DistOptions toDistOptions(Napi::Env env, const Napi::Value& value) {
  dist::DistOptions d;
  if (value.IsUndefined() || value.IsNull()) return d;
  if (!value.IsObject()) throwInvalidArg(env, "expected dist to be an object {rank, worldSize, masterAddr, masterPort, ...}");
  Napi::Object o = value.As<Napi::Object>();
  d.rank = integerField(env, o, "rank", "dist", 0);
  d.worldSize = integerField(env, o, "worldSize", "dist", 1);
  d.localRank = integerField(env, o, "localRank", "dist", d.rank);
  d.masterPort = integerField(env, o, "masterPort", "dist", d.masterPort);
  if (o.Get("masterAddr").IsString()) d.masterAddr = o.Get("masterAddr").As<Napi::String>().Utf8Value();
  if (o.Get("backend").IsString()) d.backend = o.Get("backend").As<Napi::String>().Utf8Value();
  d.timeoutSeconds = numberField(env, o, "timeoutSeconds", "dist", d.timeoutSeconds);
  d.bucketMb = numberField(env, o, "bucketMb", "dist", d.bucketMb);
  if (o.Get("shuffleBn").IsBoolean()) d.shuffleBn = o.Get("shuffleBn").As<Napi::Boolean>().Value();
  if (o.Get("syncBn").IsBoolean()) d.syncBn = o.Get("syncBn").As<Napi::Boolean>().Value();
  if (o.Get("forceGroup").IsBoolean()) d.forceGroup = o.Get("forceGroup").As<Napi::Boolean>().Value();
  if (d.worldSize < 1 || d.rank >= d.worldSize) {
    throwInvalidArg(env, "expected 0 <= dist.rank < dist.worldSize but received rank " + std::to_string(d.rank) +
                             " and worldSize " + std::to_string(d.worldSize));
  }
  return d;
}

train::Shard toShard(Napi::Env env, const Napi::Value& value) {
  train::Shard s;
  if (value.IsUndefined() || value.IsNull()) return s;
  if (!value.IsObject()) throwInvalidArg(env, "expected shard to be an object {rank, worldSize}");
  Napi::Object o = value.As<Napi::Object>();
  s.rank = integerField(env, o, "rank", "shard", 0);
  s.worldSize = integerField(env, o, "worldSize", "shard", 1);
  if (s.worldSize < 1 || s.rank >= s.worldSize) {
    throwInvalidArg(env, "expected 0 <= shard.rank < shard.worldSize but received rank " + std::to_string(s.rank) +
                             " and worldSize " + std::to_string(s.worldSize));
  }
  return s;
}

Napi::Value distBackends(const Napi::CallbackInfo& args) {
  std::vector<std::string> names = dist::availableBackends();
  Napi::Array out = Napi::Array::New(args.Env(), names.size());
  for (uint32_t i = 0; i < names.size(); ++i) out.Set(i, names[i]);
  return out;
}

}  // namespace imlm::bridge

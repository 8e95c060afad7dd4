#include "bridge/dist_convert.h"

#include <string>

#include "bridge/error_conversion.h"
#include "core/distributed/process_group.h"

namespace imlm::bridge {

dist::DistOptions toDistOptions(const JsValue& value) {
  JsObject o(value);
  dist::DistOptions d;
  d.rank = o.integer("rank", 0);
  d.worldSize = o.integer("worldSize", 1);
  d.localRank = o.integer("localRank", 0);
  d.masterAddr = o.string("masterAddr");
  d.masterPort = o.integer("masterPort", 1, 65535);
  d.backend = o.choice<std::string>("backend", {{"auto", "auto"}, {"gloo", "gloo"}, {"nccl", "nccl"}});
  d.timeoutSeconds = o.positiveNumber("timeoutSeconds");
  d.bucketMb = o.positiveNumber("bucketMb");
  d.shuffleBn = o.boolean("shuffleBn");
  d.syncBn = o.boolean("syncBn");
  d.forceGroup = o.boolean("forceGroup");
  if (d.rank >= d.worldSize) {
    throwInvalidArg(value.raw().Env(), "expected 0 <= " + o.path() + ".rank < " + o.path() + ".worldSize but received rank " +
                                           std::to_string(d.rank) + " and worldSize " + std::to_string(d.worldSize));
  }
  return d;
}

train::Shard toShard(const JsValue& value) {
  JsObject o(value);
  train::Shard s;
  s.rank = o.integer("rank", 0);
  s.worldSize = o.integer("worldSize", 1);
  if (s.rank >= s.worldSize) {
    throwInvalidArg(value.raw().Env(), "expected 0 <= " + o.path() + ".rank < " + o.path() + ".worldSize but received rank " +
                                           std::to_string(s.rank) + " and worldSize " + std::to_string(s.worldSize));
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

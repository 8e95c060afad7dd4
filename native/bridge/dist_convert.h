// JS objects of a distributed run → plain C++ structs: {rank, worldSize, localRank, masterAddr,
// masterPort, backend, timeoutSeconds, bucketMb, shuffleBn, syncBn, forceGroup} →
// dist::DistOptions (every field resolved by lib/distributed/dist-options.ts), and a source's
// {rank, worldSize} → train::Shard. Also distBackends() for the binding.
#pragma once

#include <napi.h>

#include "bridge/js_args.h"
#include "core/distributed/options.h"
#include "core/train/batch_source.h"

namespace imlm::bridge {

dist::DistOptions toDistOptions(const JsValue& value);

train::Shard toShard(const JsValue& value);

/** distBackends() → string[]: the c10d backends this build has ("gloo", "nccl"). */
Napi::Value distBackends(const Napi::CallbackInfo& args);

}  // namespace imlm::bridge

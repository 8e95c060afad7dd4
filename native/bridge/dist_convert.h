// JS objects of a distributed run → plain C++ structs: {rank, worldSize, localRank, masterAddr,
// masterPort, backend?, timeoutSeconds?, bucketMb?, shuffleBn?, forceGroup?} → dist::DistOptions, and a
// source's {rank, worldSize} → train::Shard. Also distBackends() for the binding.
#pragma once

#include <napi.h>

#include "core/distributed/options.h"
#include "core/train/batch_source.h"

namespace imlm::bridge {

/** Undefined → one process (worldSize 1). */
dist::DistOptions toDistOptions(Napi::Env env, const Napi::Value& value);

/** Undefined → the whole batch (rank 0 of 1). */
train::Shard toShard(Napi::Env env, const Napi::Value& value);

/** distBackends() → string[]: the c10d backends this build has ("gloo", "nccl"). */
Napi::Value distBackends(const Napi::CallbackInfo& args);

}  // namespace imlm::bridge

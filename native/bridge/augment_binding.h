// The augmentation policy object (lib/data/policies.ts) → augment::AugmentPolicy, read by
// walking the op table (core/augment/ops.h); augmentBatch(images, policy, outputSize, seed) for
// tests and inspection; augmentOps(), the table as TypeScript builds its policy schema from it.
#pragma once

#include <napi.h>

#include "core/augment/augment.h"

namespace imlm::bridge {

augment::AugmentPolicy toAugmentPolicy(Napi::Env env, const Napi::Value& value, int64_t outputSize);
Napi::Value augmentBatch(const Napi::CallbackInfo& args);
Napi::Value augmentOps(const Napi::CallbackInfo& args);

}  // namespace imlm::bridge

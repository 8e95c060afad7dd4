// The augmentation policy object (lib/data/policies.ts) → augment::AugmentPolicy, and
// augmentBatch(images, policy, outputSize, seed) for tests and inspection.
#pragma once

#include <napi.h>

#include "core/augment/augment.h"

namespace imlm::bridge {

augment::AugmentPolicy toAugmentPolicy(Napi::Env env, const Napi::Value& value, int64_t outputSize);
Napi::Value augmentBatch(const Napi::CallbackInfo& args);

}  // namespace imlm::bridge

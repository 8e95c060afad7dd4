// JS configuration object (docs/formats.md, validated by lib/config) → train::TrainConfig.
// Types are still checked here: the bridge never trusts its caller.
#pragma once

#include <napi.h>

#include "core/train/train_config.h"

namespace imlm::bridge {

train::TrainConfig toTrainConfig(Napi::Env env, const Napi::Value& value);

}  // namespace imlm::bridge

// JS configuration object (docs/formats.md, validated and resolved by lib/config) →
// train::TrainConfig. Every field is required and its type checked here: the bridge never trusts
// its caller.
#pragma once

#include <napi.h>

#include "bridge/js_args.h"
#include "core/train/train_config.h"

namespace imlm::bridge {

train::TrainConfig toTrainConfig(const JsValue& value);

}  // namespace imlm::bridge

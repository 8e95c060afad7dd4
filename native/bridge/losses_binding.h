// The pure loss functions of native/core/losses, callable from JS on tensors (for tests and for
// users who compose their own methods): lossInfoNce, lossLayerMse, lossBarlowTwins.
#pragma once

#include <napi.h>

namespace imlm::bridge {

Napi::Value lossInfoNce(const Napi::CallbackInfo& args);
Napi::Value lossLayerMse(const Napi::CallbackInfo& args);
Napi::Value lossBarlowTwins(const Napi::CallbackInfo& args);

}  // namespace imlm::bridge

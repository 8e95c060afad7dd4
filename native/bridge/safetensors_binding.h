// readSafetensors(path) / writeSafetensors(path, tensors, metadata): safetensors files to and
// from JS Tensors, on worker threads.
#pragma once

#include <napi.h>

namespace imlm::bridge {

Napi::Value readSafetensors(const Napi::CallbackInfo& args);
Napi::Value writeSafetensors(const Napi::CallbackInfo& args);

}  // namespace imlm::bridge

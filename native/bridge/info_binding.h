// binding.info(): LibTorch's runtime description, resolved on a worker thread (the first CUDA
// query initialises the driver, which can take a second).
#pragma once

#include <napi.h>

namespace imlm::bridge {

Napi::Value info(const Napi::CallbackInfo& args);

}  // namespace imlm::bridge

// binding.info(): LibTorch's runtime description, resolved on a worker thread (the first CUDA
// query initialises the driver, which can take a second).
#pragma once

#include <napi.h>

namespace imlm::bridge {

Napi::Value info(const Napi::CallbackInfo& args);
/**
 * binding.deviceMemoryPeaks(index, reset?): the CUDA caching allocator's peak allocated and
 * reserved bytes on cuda:index (null without CUDA); synchronous, it reads counters.
 */
Napi::Value deviceMemoryPeaks(const Napi::CallbackInfo& args);

}  // namespace imlm::bridge

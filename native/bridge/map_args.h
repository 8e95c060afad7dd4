// JS objects used as maps at the boundary: `{ name: Tensor }` and `{ key: string }` arguments
// (safetensors contents, checkpoint metadata), checked entry by entry.
#pragma once

#include <napi.h>

#include "core/io/safetensors.h"

namespace imlm::bridge {

/** args[index] as name → tensor; undefined gives an empty map. `what` names it in errors. */
io::TensorMap tensorMapArg(const Napi::CallbackInfo& args, size_t index, const char* what);

/** args[index] as key → string; undefined gives an empty map. */
io::Metadata stringMapArg(const Napi::CallbackInfo& args, size_t index, const char* what);

}  // namespace imlm::bridge

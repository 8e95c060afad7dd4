// selectRows(tensor, indices) and toRgbBytes(images): Promises of new tensors, for
// `imlm-native inspect` (core/inspect/image_rows.h).
#pragma once

#include <napi.h>

namespace imlm::bridge {

Napi::Value selectRows(const Napi::CallbackInfo& args);
Napi::Value toRgbBytes(const Napi::CallbackInfo& args);

}  // namespace imlm::bridge

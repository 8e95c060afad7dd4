// JS objects used as maps at the boundary: `{ name: Tensor }` and `{ key: string }` arguments
// (safetensors contents, checkpoint metadata), checked entry by entry.
#pragma once

#include "bridge/js_args.h"
#include "core/io/safetensors.h"

namespace imlm::bridge {

/** A name → Tensor object; undefined means no entries. */
io::TensorMap tensorMapArg(const JsValue& value);

/** A key → string object; undefined means no entries. */
io::Metadata stringMapArg(const JsValue& value);

}  // namespace imlm::bridge

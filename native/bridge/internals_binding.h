// Hooks for the test suite only (not part of the public API, not in lib/index.ts).
#pragma once

#include <napi.h>

namespace imlm::bridge {

/**
 * binding._serialThreadProbe(fail: boolean): on a libuv worker, runs a 20 ms job on one
 * SerialThread shared by all calls (core/serial_thread.h); resolves with {job, caller}, the
 * ids of the thread that ran the job and of the worker that asked, as strings. With `fail`
 * the job throws, and the Promise rejects with ERR_INVALID_ARG.
 */
Napi::Value serialThreadProbe(const Napi::CallbackInfo& args);

}  // namespace imlm::bridge

// Per-environment state of the addon (one per Node.js main thread or worker thread), kept in
// Node-API instance data rather than statics so the addon loads in worker threads.
#pragma once

#include <napi.h>

#include <atomic>
#include <cstdint>
#include <memory>

namespace imlm::bridge {

struct AddonData {
  /** lib/errors.ts's ImlmError, handed over by lib/native.ts at load; empty until then. */
  Napi::FunctionReference errorClass;
  /** The JS classes, to create instances from C++ results and to check arguments. */
  Napi::FunctionReference tensorClass;
  Napi::FunctionReference sourceClass;
  Napi::FunctionReference trainerClass;
  Napi::FunctionReference finetunerClass;
  Napi::FunctionReference encoderClass;
  Napi::FunctionReference processGroupClass;
  /**
   * Tensors alive in this environment (created and neither disposed nor finalized). Shared
   * with every TensorWrap so a finalizer that runs after teardown still has a valid counter.
   */
  std::shared_ptr<std::atomic<int64_t>> liveTensors = std::make_shared<std::atomic<int64_t>>(0);

  static AddonData& of(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }
};

}  // namespace imlm::bridge

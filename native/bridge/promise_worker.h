// The base of every asynchronous call: work on a libuv thread, a Promise settled on the JS
// thread. Exceptions of the work become rejections with codes (bridge/error_conversion.h).
#pragma once

#include <napi.h>

#include <functional>

#include "bridge/error_conversion.h"

namespace imlm::bridge {

/** Resolves `deferred` with build()'s value, or rejects it with what build() threw (on the JS thread). */
void resolveWith(Napi::Env env, Napi::Promise::Deferred& deferred, const std::function<Napi::Value()>& build);

/** An AsyncWorker that settles a Promise; Execute's exceptions become rejections with codes. */
class PromiseWorker : public Napi::AsyncWorker {
 public:
  explicit PromiseWorker(Napi::Env env)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  /** The work, on a libuv thread: no Node-API calls here. */
  virtual void run() = 0;
  /** Builds the resolved value, on the JS thread. */
  virtual Napi::Value result(Napi::Env env) = 0;
  /** Called on the JS thread before the Promise settles, failed or not (releases leases). */
  virtual void settled() {}

 private:
  void Execute() final;
  void OnOK() final;
  void OnError(const Napi::Error& error) final;

  Napi::Promise::Deferred deferred_;
  ErrorInfo failure_;
  bool failed_ = false;
};

/** Queues a worker and returns its Promise (the worker deletes itself when done). */
template <typename Worker>
Napi::Value startWorker(Worker* worker) {
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

}  // namespace imlm::bridge

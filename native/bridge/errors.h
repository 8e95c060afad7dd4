// C++ exceptions → JS errors. Every entry point of the bridge runs its body through
// `guarded` (synchronous calls) or stores `describeCurrentException()` (async workers), so no
// exception ever escapes to Node as a crash, and every JS error carries a stable `code`.
#pragma once

#include <napi.h>

#include <functional>
#include <string>
#include <utility>

namespace imlm::bridge {

struct ErrorInfo {
  std::string code;
  std::string message;
};

/** Describes the exception being handled; call only inside a catch block. */
ErrorInfo describeCurrentException();

/** A JS ImlmError (or, before lib/ registered it, an Error with `code`). */
Napi::Error makeError(Napi::Env env, const ErrorInfo& info);

/** Throws a JS ERR_INVALID_ARG error from C++ (for argument checks at the boundary). */
[[noreturn]] void throwInvalidArg(Napi::Env env, const std::string& message);

/** Runs `body`; any C++ exception becomes a thrown JS error with a code. */
template <typename Body>
auto guarded(Napi::Env env, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;  // already a JS error
  } catch (...) {
    throw makeError(env, describeCurrentException());
  }
}

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

// C++ exceptions → JS errors. Every entry point of the bridge runs its body through
// `guarded` (synchronous calls) or stores `describeCurrentException()` (async workers,
// bridge/promise_worker.h), so no exception ever escapes to Node as a crash, and every JS error
// carries a stable `code`.
#pragma once

#include <napi.h>

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

}  // namespace imlm::bridge

// The one exception type native/core throws for conditions a user can fix. Each carries a
// stable code; native/bridge turns it into a JS ImlmError with the same code. Anything else
// thrown (c10::Error from LibTorch, std::bad_alloc, ...) is mapped there too.
#pragma once

#include <stdexcept>
#include <string>

namespace imlm {

enum class ErrorCode {
  kInvalidArgument,    // a value the caller passed is wrong (shape, dtype, range, ...)
  kDeviceUnavailable,  // a device was asked for that this build or machine cannot give
  kDisposed,           // an object was used after dispose()
  kIo,                 // a file could not be read or written
  kFormat,             // a file exists but its content is not what it must be
  kCancelled,          // work stopped because the caller asked
  kNonFinite,          // a loss became NaN or infinite
  kBusy,               // an object is already running an operation
  kDistributed,        // a collective or the rendezvous of a distributed run failed (a rank died, timed out)
  kInternal,           // a bug in imlm-native
};

/** The stable code string a JS caller sees (ImlmError.code). */
inline const char* errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "ERR_INVALID_ARG";
    case ErrorCode::kDeviceUnavailable: return "ERR_DEVICE_UNAVAILABLE";
    case ErrorCode::kDisposed: return "ERR_DISPOSED";
    case ErrorCode::kIo: return "ERR_IO";
    case ErrorCode::kFormat: return "ERR_FORMAT";
    case ErrorCode::kCancelled: return "ERR_CANCELLED";
    case ErrorCode::kNonFinite: return "ERR_NON_FINITE";
    case ErrorCode::kBusy: return "ERR_BUSY";
    case ErrorCode::kDistributed: return "ERR_DISTRIBUTED";
    case ErrorCode::kInternal: return "ERR_INTERNAL";
  }
  return "ERR_INTERNAL";
}

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace imlm

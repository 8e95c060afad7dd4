#include "bridge/error_conversion.h"

#include <c10/util/Exception.h>

#include <new>

#include "bridge/addon_data.h"
#include "core/errors.h"

namespace imlm::bridge {

ErrorInfo describeCurrentException() {
  try {
    throw;
  } catch (const imlm::Error& e) {
    return {errorCodeName(e.code()), e.what()};
  } catch (const c10::Error& e) {
    // what_without_backtrace: the C++ stack of LibTorch is noise to a JS user.
    std::string message = e.what_without_backtrace();
    if (message.find("out of memory") != std::string::npos) {
      return {"ERR_OUT_OF_MEMORY", "LibTorch ran out of memory: " + message +
                                       " (use a smaller batch or image size)"};
    }
    return {"ERR_TORCH", "LibTorch error: " + message};
  } catch (const std::bad_alloc&) {
    return {"ERR_OUT_OF_MEMORY", "out of memory (std::bad_alloc); use a smaller batch or data set"};
  } catch (const std::exception& e) {
    return {"ERR_INTERNAL", std::string("internal error in imlm-native: ") + e.what()};
  } catch (...) {
    return {"ERR_INTERNAL", "internal error in imlm-native: unknown exception"};
  }
}

Napi::Error makeError(Napi::Env env, const ErrorInfo& info) {
  auto* data = env.GetInstanceData<AddonData>();
  if (data != nullptr && !data->errorClass.IsEmpty()) {
    Napi::Object error = data->errorClass.New(
        {Napi::String::New(env, info.message), Napi::String::New(env, info.code)});
    return Napi::Error(env, error);
  }
  Napi::Error error = Napi::Error::New(env, info.message);
  error.Set("code", Napi::String::New(env, info.code));
  return error;
}

void throwInvalidArg(Napi::Env env, const std::string& message) {
  throw makeError(env, {"ERR_INVALID_ARG", message});
}

}  // namespace imlm::bridge

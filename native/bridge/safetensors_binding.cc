#include "bridge/safetensors_binding.h"

#include "bridge/error_conversion.h"
#include "bridge/js_args.h"
#include "bridge/map_args.h"
#include "bridge/promise_worker.h"
#include "bridge/tensor_wrap.h"
#include "core/io/safetensors.h"

namespace imlm::bridge {
namespace {

void refuseReserved(Napi::Env env, const std::string& name, const char* what) {
  if (name == "__proto__") {
    throw makeError(env, {"ERR_FORMAT", std::string("a safetensors ") + what + " '__proto__' cannot be a key of a JS object"});
  }
}

class ReadTask : public PromiseWorker {
 public:
  ReadTask(Napi::Env env, std::string path, bool mapped) : PromiseWorker(env), path_(std::move(path)), mapped_(mapped) {}

 protected:
  void run() override { content_ = mapped_ ? io::readSafetensorsMapped(path_) : io::readSafetensors(path_); }
  Napi::Value result(Napi::Env env) override {
    // The reader refuses '__proto__' already (core/io/safetensors.cc); checked again here, and
    // every entry is defined as an own data property from a counted-length string, so no name
    // reaches a prototype setter or is cut at a NUL byte.
    for (const auto& [name, tensor] : content_.tensors) refuseReserved(env, name, "tensor name");
    for (const auto& [key, value] : content_.metadata) refuseReserved(env, key, "metadata key");
    Napi::Object tensors = Napi::Object::New(env);
    for (auto& [name, tensor] : content_.tensors) {
      tensors.DefineProperty(Napi::PropertyDescriptor::Value(Napi::String::New(env, name), TensorWrap::wrap(env, std::move(tensor)), napi_default_jsproperty));
    }
    Napi::Object metadata = Napi::Object::New(env);
    for (const auto& [key, value] : content_.metadata) {
      metadata.DefineProperty(Napi::PropertyDescriptor::Value(Napi::String::New(env, key), Napi::String::New(env, value), napi_default_jsproperty));
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("tensors", tensors);
    out.Set("metadata", metadata);
    return out;
  }

 private:
  std::string path_;
  bool mapped_;
  io::SafetensorsContent content_;
};

class WriteTask : public PromiseWorker {
 public:
  WriteTask(Napi::Env env, std::string path, io::TensorMap tensors, io::Metadata metadata)
      : PromiseWorker(env), path_(std::move(path)), tensors_(std::move(tensors)), metadata_(std::move(metadata)) {}

 protected:
  void run() override { io::writeSafetensors(path_, tensors_, metadata_); }
  Napi::Value result(Napi::Env env) override { return env.Undefined(); }

 private:
  std::string path_;
  io::TensorMap tensors_;  // references of their own: valid even if the JS Tensors are disposed
  io::Metadata metadata_;
};

}  // namespace

Napi::Value readSafetensors(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    JsArgs in(args);
    std::string path = in.string(0, "path");
    const bool mapped = in.object(1, "options").boolean("mmap");
    return startWorker(new ReadTask(env, std::move(path), mapped));
  });
}

Napi::Value writeSafetensors(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    JsArgs in(args);
    std::string path = in.string(0, "path");
    static_cast<void>(JsObject(in.at(1, "tensors")));  // required, unlike the metadata
    io::TensorMap tensors = tensorMapArg(in.at(1, "tensors"));
    io::Metadata metadata = stringMapArg(in.at(2, "metadata"));
    return startWorker(new WriteTask(env, std::move(path), std::move(tensors), std::move(metadata)));
  });
}

}  // namespace imlm::bridge

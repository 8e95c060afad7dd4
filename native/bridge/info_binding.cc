#include "bridge/info_binding.h"

#include "bridge/error_conversion.h"
#include "bridge/js_args.h"
#include "bridge/promise_worker.h"
#include "core/models/architectures.h"
#include "core/runtime_info.h"

namespace imlm::bridge {
namespace {

class InfoWorker : public PromiseWorker {
 public:
  using PromiseWorker::PromiseWorker;

 protected:
  void run() override { info_ = queryRuntimeInfo(); }

  Napi::Value result(Napi::Env env) override {
    Napi::Object out = Napi::Object::New(env);
    Napi::Object libtorch = Napi::Object::New(env);
    libtorch.Set("version", info_.libtorchVersion);
    libtorch.Set("headerVersion", info_.libtorchHeaderVersion);
    libtorch.Set("source", info_.libtorchSource);
    libtorch.Set("libraryPath", info_.libtorchLibraryPath);
    libtorch.Set("builtWithCuda", info_.builtWithCuda);
    out.Set("libtorch", libtorch);

    Napi::Object cuda = Napi::Object::New(env);
    cuda.Set("available", info_.cudaAvailable);
    cuda.Set("reason", info_.cudaUnavailableReason ? Napi::Value(Napi::String::New(env, *info_.cudaUnavailableReason))
                                                   : env.Null());
    cuda.Set("cudnnVersion", info_.cudnnVersion
                                 ? Napi::Value(Napi::Number::New(env, static_cast<double>(*info_.cudnnVersion)))
                                 : env.Null());
    Napi::Array devices = Napi::Array::New(env, info_.cudaDevices.size());
    for (size_t i = 0; i < info_.cudaDevices.size(); ++i) {
      const CudaDeviceInfo& d = info_.cudaDevices[i];
      Napi::Object device = Napi::Object::New(env);
      device.Set("index", d.index);
      device.Set("name", d.name);
      device.Set("totalMemoryBytes", static_cast<double>(d.totalMemoryBytes));
      device.Set("freeMemoryBytes", static_cast<double>(d.freeMemoryBytes));
      device.Set("computeCapability", std::to_string(d.computeCapabilityMajor) + "." +
                                          std::to_string(d.computeCapabilityMinor));
      devices.Set(static_cast<uint32_t>(i), device);
    }
    cuda.Set("devices", devices);
    out.Set("cuda", cuda);

    Napi::Object threads = Napi::Object::New(env);
    threads.Set("intraOp", info_.numThreads);
    threads.Set("interOp", info_.numInteropThreads);
    out.Set("threads", threads);

    Napi::Object build = Napi::Object::New(env);
    build.Set("type", info_.buildType);
    build.Set("system", info_.buildSystem);
    build.Set("napiVersion", NAPI_VERSION);
    out.Set("build", build);

    const auto& table = models::architectures();
    Napi::Array archs = Napi::Array::New(env, table.size());
    for (size_t i = 0; i < table.size(); ++i) archs.Set(static_cast<uint32_t>(i), table[i].name);
    out.Set("architectures", archs);
    return out;
  }

 private:
  RuntimeInfo info_;
};

}  // namespace

Napi::Value info(const Napi::CallbackInfo& args) {
  return guarded(args.Env(), [&]() -> Napi::Value {
    return startWorker(new InfoWorker(args.Env()));
  });
}

Napi::Value deviceMemoryPeaks(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    JsArgs in(args);
    const auto index = static_cast<int>(in.integer(0, "cudaIndex", 0, std::numeric_limits<int32_t>::max()));
    const std::optional<DeviceMemoryPeaks> peaks = imlm::deviceMemoryPeaks(index, in.boolean(1, "reset"));
    if (!peaks) return env.Null();
    Napi::Object o = Napi::Object::New(env);
    o.Set("allocatedBytes", static_cast<double>(peaks->allocatedBytes));
    o.Set("reservedBytes", static_cast<double>(peaks->reservedBytes));
    return o;
  });
}

}  // namespace imlm::bridge

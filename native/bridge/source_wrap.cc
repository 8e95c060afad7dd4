#include "bridge/source_wrap.h"

#include <chrono>

#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>

#include "bridge/addon_data.h"
#include "bridge/augment_binding.h"
#include "bridge/dist_convert.h"
#include "bridge/errors.h"
#include "bridge/tensor_wrap.h"
#include "core/tensor_io.h"
#include "core/train/prefetch.h"

namespace imlm::bridge {
namespace {

int64_t positiveInt(Napi::Env env, const Napi::Object& options, const char* key) {
  Napi::Value v = options.Get(key);
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  if (d < 0 || d != static_cast<double>(static_cast<int64_t>(d))) {
    throwInvalidArg(env, std::string("expected options.") + key + " to be a non-negative integer");
  }
  return static_cast<int64_t>(d);
}

/** options.prefetch (default 2; 0 = compute each batch when the trainer asks for it). */
std::shared_ptr<train::BatchSource> withPrefetch(Napi::Env env, const Napi::Object& options,
                                                 std::unique_ptr<train::BatchSource> source) {
  int64_t depth = 2;
  if (options.Has("prefetch") && !options.Get("prefetch").IsUndefined()) depth = positiveInt(env, options, "prefetch");
  if (depth == 0) return std::shared_ptr<train::BatchSource>(std::move(source));
  return std::make_shared<train::PrefetchingSource>(std::shared_ptr<train::BatchSource>(std::move(source)), depth);
}

Napi::Object optionsArg(const Napi::CallbackInfo& args, size_t index) {
  if (args.Length() <= index || !args[index].IsObject()) throwInvalidArg(args.Env(), "expected an options object");
  return args[index].As<Napi::Object>();
}

}  // namespace

/**
 * Pulls batches 0..n−1 and times it (npm run bench:data); `hostOnly`: the host stage alone,
 * gathered (and pinned) images without augmentation (npm run bench:feed).
 */
class MeasureTask : public PromiseWorker {
 public:
  MeasureTask(Napi::Env env, std::shared_ptr<train::BatchSource> source, int64_t batches, int64_t threads, bool hostOnly)
      : PromiseWorker(env), source_(std::move(source)), batches_(batches), threads_(threads), hostOnly_(hostOnly) {}

 protected:
  void run() override {
    at::NoGradGuard noGrad;
    if (threads_ > 0) at::set_num_threads(static_cast<int>(threads_));
    const auto start = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < batches_; ++i) {
      if (hostOnly_) {
        const at::Tensor host = source_->hostBatch(i);
        images_ += host.size(0);
        bytes_ += host.numel() * host.element_size();
        pinned_ = host.is_pinned();
      } else {
        images_ += source_->batch(i).query.size(0);
      }
    }
    seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  Napi::Value result(Napi::Env env) override {
    Napi::Object out = Napi::Object::New(env);
    out.Set("seconds", seconds_);
    out.Set("imagesPerSecond", seconds_ > 0 ? static_cast<double>(images_) / seconds_ : 0.0);
    if (hostOnly_) {
      out.Set("bytesPerSecond", seconds_ > 0 ? static_cast<double>(bytes_) / seconds_ : 0.0);
      out.Set("pinned", pinned_);
    }
    return out;
  }

 private:
  std::shared_ptr<train::BatchSource> source_;
  int64_t batches_;
  int64_t threads_;
  bool hostOnly_;
  int64_t images_ = 0;
  int64_t bytes_ = 0;
  bool pinned_ = false;
  double seconds_ = 0;
};

Napi::Function SourceWrap::define(Napi::Env env) {
  Napi::Function cls = DefineClass(env, "BatchSource", {InstanceMethod<&SourceWrap::describe>("describe"),
                                                        InstanceMethod<&SourceWrap::measure>("measure")});
  AddonData::of(env).sourceClass = Napi::Persistent(cls);
  return cls;
}

SourceWrap* SourceWrap::unwrap(Napi::Env env, const Napi::Value& value) {
  if (!value.IsObject() || !value.As<Napi::Object>().InstanceOf(AddonData::of(env).sourceClass.Value())) {
    throwInvalidArg(env, "expected a BatchSource (from syntheticSource, tensorSource or fixedBatchesSource)");
  }
  return Unwrap(value.As<Napi::Object>());
}

SourceWrap::SourceWrap(const Napi::CallbackInfo& args) : Napi::ObjectWrap<SourceWrap>(args) {
  if (args.Length() != 1 || !args[0].IsExternal()) {
    throwInvalidArg(args.Env(), "BatchSource objects come from syntheticSource(), tensorSource() or fixedBatchesSource()");
  }
  source_ = *args[0].As<Napi::External<std::shared_ptr<train::BatchSource>>>().Data();
}

Napi::Object SourceWrap::wrap(Napi::Env env, std::shared_ptr<train::BatchSource> source) {
  return AddonData::of(env).sourceClass.New({Napi::External<std::shared_ptr<train::BatchSource>>::New(env, &source)});
}

Napi::Value SourceWrap::describe(const Napi::CallbackInfo& args) {
  return Napi::String::New(args.Env(), source_->describe());
}

Napi::Value SourceWrap::measure(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    if (args.Length() < 2 || !args[0].IsNumber() || !args[1].IsNumber()) {
      throwInvalidArg(env, "expected measure(batches, threads, hostOnly?)");
    }
    const bool hostOnly = args.Length() > 2 && args[2].ToBoolean().Value();
    return startWorker(new MeasureTask(env, source_, args[0].As<Napi::Number>().Int64Value(),
                                       args[1].As<Napi::Number>().Int64Value(), hostOnly));
  });
}

Napi::Value SourceWrap::synthetic(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    Napi::Object o = optionsArg(args, 0);
    // Cheap: a few hundred small images are generated here, on the JS thread.
    augment::AugmentPolicy policy = toAugmentPolicy(env, o.Get("policy"), positiveInt(env, o, "imageSize"));
    return wrap(env, withPrefetch(env, o, train::makeSyntheticSource(positiveInt(env, o, "poolSize"), positiveInt(env, o, "channels"),
                                                                     positiveInt(env, o, "batchSize"), policy,
                                                                     static_cast<uint64_t>(positiveInt(env, o, "seed")),
                                                                     toShard(env, o.Get("shard")))));
  });
}

Napi::Value SourceWrap::fromTensor(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    at::Tensor images = TensorWrap::unwrap(env, args.Length() > 0 ? args[0] : env.Undefined(), "images");
    Napi::Object o = optionsArg(args, 1);
    augment::AugmentPolicy policy = toAugmentPolicy(env, o.Get("policy"), positiveInt(env, o, "imageSize"));
    // augmentDevice: where the views are made ('cpu' default; 'cuda'/'cuda:N' stages the
    // gathered bytes through pinned memory and augments on the GPU, core/train/device_staging.h).
    Napi::Value deviceOption = o.Get("augmentDevice");
    const c10::Device augmentDevice =
        deviceOption.IsString() ? resolveDevice(deviceOption.As<Napi::String>().Utf8Value()) : c10::Device(c10::kCPU);
    return wrap(env, withPrefetch(env, o, train::makeTensorSource(images, positiveInt(env, o, "batchSize"), policy,
                                                                  static_cast<uint64_t>(positiveInt(env, o, "seed")),
                                                                  toShard(env, o.Get("shard")), augmentDevice)));
  });
}

Napi::Value SourceWrap::fixedBatches(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    if (args.Length() < 3 || !args[2].IsNumber()) throwInvalidArg(env, "expected fixedBatchesSource(q, k, firstStep)");
    at::Tensor q = TensorWrap::unwrap(env, args[0], "q");
    at::Tensor k = TensorWrap::unwrap(env, args[1], "k");
    return wrap(env, train::makeFixedBatchesSource(q, k, args[2].As<Napi::Number>().Int64Value(),
                                                   toShard(env, args.Length() > 3 ? args[3] : env.Undefined())));
  });
}

}  // namespace imlm::bridge

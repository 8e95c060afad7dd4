#include "bridge/source_wrap.h"

#include <chrono>

#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>

#include "bridge/addon_data.h"
#include "bridge/augment_binding.h"
#include "bridge/dist_convert.h"
#include "bridge/error_conversion.h"
#include "bridge/js_args.h"
#include "bridge/promise_worker.h"
#include "bridge/tensor_wrap.h"
#include "core/tensor_io.h"
#include "core/train/prefetch.h"

namespace imlm::bridge {
namespace {

/** `depth` batches prepared ahead on background threads (0: each batch when the trainer asks for it). */
std::shared_ptr<train::BatchSource> withPrefetch(int64_t depth, std::unique_ptr<train::BatchSource> source) {
  if (depth == 0) return std::shared_ptr<train::BatchSource>(std::move(source));
  return std::make_shared<train::PrefetchingSource>(std::shared_ptr<train::BatchSource>(std::move(source)), depth);
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
    throwExpected(env, "source", "a BatchSource (from syntheticSource, tensorSource or fixedBatchesSource)", value);
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
    JsArgs in(args);
    return startWorker(new MeasureTask(env, source_, in.integer(0, "batches", 0), in.integer(1, "threads", 0), in.boolean(2, "hostOnly")));
  });
}

Napi::Value SourceWrap::synthetic(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    JsObject o = JsArgs(args).object(0, "options");
    // Cheap: a few hundred small images are generated here, on the JS thread.
    augment::AugmentPolicy policy = toAugmentPolicy(env, o.field("policy").raw(), o.integer("imageSize", 1));
    return wrap(env, withPrefetch(o.integer("prefetch", 0),
                                  train::makeSyntheticSource(o.integer("poolSize", 1), o.integer("channels", 1), o.integer("batchSize", 1),
                                                             policy, static_cast<uint64_t>(o.integer("seed", 0)), toShard(o.field("shard")))));
  });
}

Napi::Value SourceWrap::fromTensor(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    JsArgs in(args);
    at::Tensor images = in.tensor(0, "images");
    JsObject o = in.object(1, "options");
    augment::AugmentPolicy policy = toAugmentPolicy(env, o.field("policy").raw(), o.integer("imageSize", 1));
    // augmentDevice: where the views are made ('cpu'; 'cuda'/'cuda:N' stages the gathered bytes
    // through pinned memory and augments on the GPU, core/train/device_staging.h).
    const c10::Device augmentDevice = resolveDevice(o.string("augmentDevice"));
    return wrap(env, withPrefetch(o.integer("prefetch", 0),
                                  train::makeTensorSource(images, o.integer("batchSize", 1), policy, static_cast<uint64_t>(o.integer("seed", 0)),
                                                          toShard(o.field("shard")), augmentDevice)));
  });
}

Napi::Value SourceWrap::fixedBatches(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    JsArgs in(args);
    at::Tensor q = in.tensor(0, "q");
    at::Tensor k = in.tensor(1, "k");
    return wrap(env, train::makeFixedBatchesSource(q, k, in.integer(2, "firstStep", 0), toShard(in.at(3, "shard"))));
  });
}

}  // namespace imlm::bridge

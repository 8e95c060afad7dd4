#include "bridge/encoder_wrap.h"

#include "bridge/addon_data.h"
#include "bridge/error_conversion.h"
#include "bridge/eval_task.h"
#include "bridge/js_args.h"
#include "bridge/promise_worker.h"
#include "bridge/tensor_wrap.h"
#include "core/tensor_io.h"

namespace imlm::bridge {
namespace {

class LoadTask : public PromiseWorker {
 public:
  LoadTask(Napi::Env env, std::string checkpoint, std::string device, int64_t threads)
      : PromiseWorker(env), checkpoint_(std::move(checkpoint)), device_(std::move(device)), threads_(threads) {}

 protected:
  void run() override { encoder_ = std::make_shared<eval::Encoder>(checkpoint_, device_, threads_); }
  Napi::Value result(Napi::Env env) override { return EncoderWrap::wrap(env, encoder_); }

 private:
  std::string checkpoint_, device_;
  int64_t threads_;
  std::shared_ptr<eval::Encoder> encoder_;
};

class EmbedTask : public EvalTask {
 public:
  EmbedTask(Napi::Env env, const Napi::Value& onProgress, std::shared_ptr<eval::Encoder> encoder, at::Tensor images,
            eval::FeatureOptions options)
      : EvalTask(env, onProgress), encoder_(std::move(encoder)), images_(std::move(images)), options_(options) {}

 protected:
  void work(const eval::EvalProgressFn& progress, const std::atomic<bool>* cancel) override {
    features_ = encoder_->embed(images_, options_, progress, cancel);
  }
  Napi::Value result(Napi::Env env) override {
    Napi::Object out = Napi::Object::New(env);
    Napi::Array blocks = Napi::Array::New(env, 4);
    for (uint32_t k = 0; k < 4; ++k) blocks.Set(k, TensorWrap::wrap(env, features_.blocks[k]));
    out.Set("blocks", blocks);
    out.Set("embedding", features_.embedding.defined() ? Napi::Value(TensorWrap::wrap(env, features_.embedding)) : env.Null());
    return out;
  }

 private:
  std::shared_ptr<eval::Encoder> encoder_;  // a reference of its own: dispose() during the call leaves it valid
  at::Tensor images_;
  eval::FeatureOptions options_;
  eval::Features features_;
};

}  // namespace

Napi::Function EncoderWrap::define(Napi::Env env) {
  Napi::Function cls = DefineClass(env, "Encoder",
                                   {
                                       InstanceMethod<&EncoderWrap::embed>("embed"),
                                       InstanceMethod<&EncoderWrap::dispose>("dispose"),
                                       InstanceAccessor<&EncoderWrap::disposed>("disposed"),
                                       InstanceAccessor<&EncoderWrap::network>("network"),
                                   });
  AddonData::of(env).encoderClass = Napi::Persistent(cls);
  return cls;
}

Napi::Value EncoderWrap::load(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    JsObject o = JsArgs(args).object(0, "options");
    return startWorker(new LoadTask(env, o.string("checkpoint"), o.string("device"), o.integer("threads", 0)));
  });
}

Napi::Object EncoderWrap::wrap(Napi::Env env, std::shared_ptr<eval::Encoder> encoder) {
  return AddonData::of(env).encoderClass.New({Napi::External<std::shared_ptr<eval::Encoder>>::New(env, &encoder)});
}

EncoderWrap::EncoderWrap(const Napi::CallbackInfo& args) : Napi::ObjectWrap<EncoderWrap>(args) {
  if (args.Length() != 1 || !args[0].IsExternal()) throwInvalidArg(args.Env(), "Encoder objects come from loadEncoder(checkpoint)");
  encoder_ = *args[0].As<Napi::External<std::shared_ptr<eval::Encoder>>>().Data();
}

std::shared_ptr<eval::Encoder> EncoderWrap::live(Napi::Env env) const {
  if (!encoder_) throw makeError(env, {"ERR_DISPOSED", "this Encoder was disposed; load another with loadEncoder(checkpoint)"});
  return encoder_;
}

Napi::Value EncoderWrap::embed(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto encoder = live(env);
    JsArgs in(args);
    at::Tensor images = in.tensor(0, "images");
    JsObject o = in.object(1, "options");
    eval::FeatureOptions options;
    options.batchSize = o.integer("batchSize", 1);
    options.imageSize = o.integer("imageSize", 0);
    options.embedding = o.boolean("embedding");
    return startWorker(new EmbedTask(env, o.optionalFunction("onProgress"), std::move(encoder), std::move(images), options));
  });
}

Napi::Value EncoderWrap::dispose(const Napi::CallbackInfo& args) {
  encoder_.reset();
  return args.Env().Undefined();
}

Napi::Value EncoderWrap::disposed(const Napi::CallbackInfo& args) { return Napi::Boolean::New(args.Env(), !encoder_); }

Napi::Value EncoderWrap::network(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto encoder = live(env);
    const models::ResNetOptions& o = encoder->networkOptions();
    Napi::Object out = Napi::Object::New(env);
    out.Set("arch", o.arch);
    out.Set("stem", o.stem == models::Stem::kSmall ? "small" : "standard");
    out.Set("inChannels", static_cast<double>(o.inChannels));
    out.Set("hasHead", encoder->hasHead());
    out.Set("embeddingDim", encoder->hasHead() ? Napi::Value(Napi::Number::New(env, static_cast<double>(o.embeddingDim))) : env.Null());
    Napi::Array channels = Napi::Array::New(env, 4);
    for (uint32_t k = 0; k < 4; ++k) channels.Set(k, static_cast<double>(encoder->blockChannels()[k]));
    out.Set("blockChannels", channels);
    out.Set("kind", encoder->kind());
    out.Set("device", deviceName(encoder->device()));
    return out;
  });
}

}  // namespace imlm::bridge

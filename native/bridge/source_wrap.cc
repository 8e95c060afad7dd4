#include "bridge/source_wrap.h"

#include "bridge/addon_data.h"
#include "bridge/augment_binding.h"
#include "bridge/errors.h"
#include "bridge/tensor_wrap.h"
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

Napi::Function SourceWrap::define(Napi::Env env) {
  Napi::Function cls = DefineClass(env, "BatchSource", {InstanceMethod<&SourceWrap::describe>("describe")});
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

Napi::Value SourceWrap::synthetic(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    Napi::Object o = optionsArg(args, 0);
    // Cheap: a few hundred small images are generated here, on the JS thread.
    augment::AugmentPolicy policy = toAugmentPolicy(env, o.Get("policy"), positiveInt(env, o, "imageSize"));
    return wrap(env, withPrefetch(env, o, train::makeSyntheticSource(positiveInt(env, o, "poolSize"), positiveInt(env, o, "channels"),
                                                                     positiveInt(env, o, "batchSize"), policy,
                                                                     static_cast<uint64_t>(positiveInt(env, o, "seed")))));
  });
}

Napi::Value SourceWrap::fromTensor(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    at::Tensor images = TensorWrap::unwrap(env, args.Length() > 0 ? args[0] : env.Undefined(), "images");
    Napi::Object o = optionsArg(args, 1);
    augment::AugmentPolicy policy = toAugmentPolicy(env, o.Get("policy"), positiveInt(env, o, "imageSize"));
    return wrap(env, withPrefetch(env, o, train::makeTensorSource(images, positiveInt(env, o, "batchSize"), policy,
                                                                  static_cast<uint64_t>(positiveInt(env, o, "seed")))));
  });
}

Napi::Value SourceWrap::fixedBatches(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    if (args.Length() < 3 || !args[2].IsNumber()) throwInvalidArg(env, "expected fixedBatchesSource(q, k, firstStep)");
    at::Tensor q = TensorWrap::unwrap(env, args[0], "q");
    at::Tensor k = TensorWrap::unwrap(env, args[1], "k");
    return wrap(env, train::makeFixedBatchesSource(q, k, args[2].As<Napi::Number>().Int64Value()));
  });
}

}  // namespace imlm::bridge

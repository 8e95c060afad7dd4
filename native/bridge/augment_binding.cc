#include "bridge/augment_binding.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/TensorOperators.h>

#include "bridge/error_conversion.h"
#include "bridge/promise_worker.h"
#include "bridge/tensor_wrap.h"

namespace imlm::bridge {
namespace {

double numberField(Napi::Env env, const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throwInvalidArg(env, std::string("expected policy.") + key + " to be a number");
  return v.As<Napi::Number>().DoubleValue();
}

bool boolField(Napi::Env env, const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsBoolean()) throwInvalidArg(env, std::string("expected policy.") + key + " to be a boolean");
  return v.As<Napi::Boolean>().Value();
}

class AugmentTask : public PromiseWorker {
 public:
  AugmentTask(Napi::Env env, at::Tensor images, augment::AugmentPolicy policy, uint64_t seed)
      : PromiseWorker(env), images_(std::move(images)), policy_(policy), seed_(seed) {}

 protected:
  void run() override {
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed_);
    at::Tensor input = images_.scalar_type() == at::kByte ? images_.to(at::kFloat) / 255.0 : images_.to(at::kFloat);
    result_ = augment::augmentBatch(input, policy_, generator);
  }
  Napi::Value result(Napi::Env env) override {
    const augment::AugmentParams& p = result_.params;
    Napi::Object params = Napi::Object::New(env);
    const std::pair<const char*, const at::Tensor*> fields[] = {
        {"cropScale", &p.cropScale}, {"cropRatio", &p.cropRatio}, {"hflip", &p.hflip},       {"vflip", &p.vflip},
        {"angle", &p.angle},         {"jitter", &p.jitter},       {"brightness", &p.brightness}, {"contrast", &p.contrast},
        {"saturation", &p.saturation}, {"hue", &p.hue},           {"grayscale", &p.grayscale}, {"blurSigma", &p.blurSigma},
    };
    for (const auto& [name, tensor] : fields) params.Set(name, TensorWrap::wrap(env, *tensor));
    Napi::Object out = Napi::Object::New(env);
    out.Set("images", TensorWrap::wrap(env, result_.images));
    out.Set("params", params);
    return out;
  }

 private:
  at::Tensor images_;
  augment::AugmentPolicy policy_;
  uint64_t seed_;
  augment::AugmentResult result_;
};

}  // namespace

augment::AugmentPolicy toAugmentPolicy(Napi::Env env, const Napi::Value& value, int64_t outputSize) {
  if (!value.IsObject()) throwInvalidArg(env, "expected an augmentation policy object (lib/data/policies.ts)");
  Napi::Object o = value.As<Napi::Object>();
  augment::AugmentPolicy p;
  p.outputSize = outputSize;
  p.crop = boolField(env, o, "crop");
  p.scaleMin = numberField(env, o, "scaleMin");
  p.scaleMax = numberField(env, o, "scaleMax");
  p.ratioMin = numberField(env, o, "ratioMin");
  p.ratioMax = numberField(env, o, "ratioMax");
  p.hflipP = numberField(env, o, "hflipP");
  p.vflipP = numberField(env, o, "vflipP");
  p.rotationDegrees = numberField(env, o, "rotationDegrees");
  p.nearest = boolField(env, o, "nearest");
  p.jitterP = numberField(env, o, "jitterP");
  p.brightness = numberField(env, o, "brightness");
  p.contrast = numberField(env, o, "contrast");
  p.saturation = numberField(env, o, "saturation");
  p.hue = numberField(env, o, "hue");
  p.grayscaleP = numberField(env, o, "grayscaleP");
  p.blurP = numberField(env, o, "blurP");
  p.blurSigmaMin = numberField(env, o, "blurSigmaMin");
  p.blurSigmaMax = numberField(env, o, "blurSigmaMax");
  if (p.crop && !(p.scaleMin > 0 && p.scaleMin <= p.scaleMax && p.scaleMax <= 1 && p.ratioMin > 0 && p.ratioMin <= p.ratioMax)) {
    throwInvalidArg(env, "expected 0 < scaleMin ≤ scaleMax ≤ 1 and 0 < ratioMin ≤ ratioMax in the crop policy");
  }
  if (p.hue < 0 || p.hue > 0.5) throwInvalidArg(env, "expected policy.hue in [0, 0.5]");
  return p;
}

Napi::Value augmentBatch(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    if (args.Length() < 4 || !args[2].IsNumber() || !args[3].IsNumber()) {
      throwInvalidArg(env, "expected augmentBatch(images, policy, outputSize, seed)");
    }
    at::Tensor images = TensorWrap::unwrap(env, args[0], "images");
    const int64_t size = args[2].As<Napi::Number>().Int64Value();
    augment::AugmentPolicy policy = toAugmentPolicy(env, args[1], size);
    return startWorker(new AugmentTask(env, images, policy, static_cast<uint64_t>(args[3].As<Napi::Number>().Int64Value())));
  });
}

}  // namespace imlm::bridge

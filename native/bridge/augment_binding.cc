#include "bridge/augment_binding.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/TensorOperators.h>

#include <cmath>

#include "bridge/error_conversion.h"
#include "bridge/js_args.h"
#include "bridge/promise_worker.h"
#include "bridge/tensor_wrap.h"
#include "core/augment/ops.h"

namespace imlm::bridge {
namespace {

/** Sets one policy field from the object, type-checked (its range is checked with the rest). */
void readField(const JsObject& o, const augment::PolicyField& field, augment::AugmentPolicy& policy) {
  if (field.flag) {
    policy.*field.flag = o.boolean(field.name);
  } else {
    policy.*field.number = o.number(field.name);
  }
}

/** One field of augmentOps(): name, type and the finite bounds of its range. */
Napi::Object describeField(Napi::Env env, const augment::PolicyField& field) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("name", field.name);
  out.Set("type", field.flag ? "boolean" : "number");
  if (std::isfinite(field.minimum)) out.Set(field.exclusiveMinimum ? "exclusiveMinimum" : "minimum", field.minimum);
  if (std::isfinite(field.maximum)) out.Set("maximum", field.maximum);
  if (field.atMost) out.Set("atMost", field.atMost);
  return out;
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
    Napi::Object params = Napi::Object::New(env);
    for (const augment::AugmentOp& op : augment::augmentOps()) {
      for (const augment::ParamField& param : op.params) params.Set(param.name, TensorWrap::wrap(env, result_.params.*param.tensor));
    }
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
  const JsObject o(env, value, "policy");
  augment::AugmentPolicy p;
  p.outputSize = outputSize;
  for (const augment::AugmentOp& op : augment::augmentOps()) {
    for (const augment::PolicyField& field : op.fields) readField(o, field, p);
  }
  const std::string problem = augment::policyProblem(p);
  if (!problem.empty()) throwInvalidArg(env, problem);
  return p;
}

Napi::Value augmentBatch(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    JsArgs in(args);
    at::Tensor images = in.tensor(0, "images");
    const int64_t size = in.integer(2, "outputSize", 1);
    augment::AugmentPolicy policy = toAugmentPolicy(env, args[1], size);
    return startWorker(new AugmentTask(env, images, policy, static_cast<uint64_t>(in.integer(3, "seed", 0))));
  });
}

Napi::Value augmentOps(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    const std::vector<augment::AugmentOp>& ops = augment::augmentOps();
    Napi::Array out = Napi::Array::New(env, ops.size());
    for (uint32_t i = 0; i < ops.size(); ++i) {
      Napi::Array fields = Napi::Array::New(env, ops[i].fields.size());
      for (uint32_t k = 0; k < ops[i].fields.size(); ++k) fields.Set(k, describeField(env, ops[i].fields[k]));
      Napi::Array params = Napi::Array::New(env, ops[i].params.size());
      for (uint32_t k = 0; k < ops[i].params.size(); ++k) params.Set(k, ops[i].params[k].name);
      Napi::Object op = Napi::Object::New(env);
      op.Set("name", ops[i].name);
      op.Set("fields", fields);
      op.Set("params", params);
      out.Set(i, op);
    }
    return out;
  });
}

}  // namespace imlm::bridge

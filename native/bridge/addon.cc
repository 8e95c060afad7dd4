// Module registration: creates the per-environment AddonData and exports the binding's
// functions and classes. lib/native.ts is the only file that loads this module.
#include <napi.h>

#include "bridge/addon_data.h"
#include "bridge/analysis_binding.h"
#include "bridge/augment_binding.h"
#include "bridge/dist_convert.h"
#include "bridge/encoder_wrap.h"
#include "bridge/error_conversion.h"
#include "bridge/eval_wrap.h"
#include "bridge/finetuner_wrap.h"
#include "bridge/info_binding.h"
#include "bridge/inspect_binding.h"
#include "bridge/internals_binding.h"
#include "bridge/losses_binding.h"
#include "bridge/process_group_wrap.h"
#include "bridge/safetensors_binding.h"
#include "bridge/source_wrap.h"
#include "bridge/tensor_wrap.h"
#include "bridge/trainer_wrap.h"

namespace imlm::bridge {
namespace {

/** setErrorClass(ImlmError): lib/ hands over the error class that native errors are built from. */
Napi::Value setErrorClass(const Napi::CallbackInfo& args) {
  if (args.Length() < 1 || !args[0].IsFunction()) {
    throwInvalidArg(args.Env(), "expected setErrorClass(errorClass: Function)");
  }
  AddonData::of(args.Env()).errorClass = Napi::Persistent(args[0].As<Napi::Function>());
  return args.Env().Undefined();
}

/** liveTensorCount(): tensors created in this environment and not yet freed (leak tests). */
Napi::Value liveTensorCount(const Napi::CallbackInfo& args) {
  return Napi::Number::New(args.Env(), static_cast<double>(AddonData::of(args.Env()).liveTensors->load()));
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData<AddonData>(new AddonData());
  exports.Set("Tensor", TensorWrap::define(env));
  exports.Set("BatchSource", SourceWrap::define(env));
  exports.Set("Trainer", TrainerWrap::define(env));
  exports.Set("Finetuner", FinetunerWrap::define(env));
  exports.Set("Encoder", EncoderWrap::define(env));
  exports.Set("ProcessGroup", ProcessGroupWrap::define(env));
  exports.Set("info", Napi::Function::New<info>(env, "info"));
  exports.Set("deviceMemoryPeaks", Napi::Function::New<deviceMemoryPeaks>(env, "deviceMemoryPeaks"));
  exports.Set("_serialThreadProbe", Napi::Function::New<serialThreadProbe>(env, "_serialThreadProbe"));
  exports.Set("createTrainer", Napi::Function::New<TrainerWrap::create>(env, "createTrainer"));
  exports.Set("syntheticSource", Napi::Function::New<SourceWrap::synthetic>(env, "syntheticSource"));
  exports.Set("tensorSource", Napi::Function::New<SourceWrap::fromTensor>(env, "tensorSource"));
  exports.Set("fixedBatchesSource", Napi::Function::New<SourceWrap::fixedBatches>(env, "fixedBatchesSource"));
  exports.Set("augmentBatch", Napi::Function::New<augmentBatch>(env, "augmentBatch"));
  exports.Set("augmentOps", Napi::Function::New<augmentOps>(env, "augmentOps"));
  exports.Set("selectRows", Napi::Function::New<selectRows>(env, "selectRows"));
  exports.Set("toRgbBytes", Napi::Function::New<toRgbBytes>(env, "toRgbBytes"));
  exports.Set("lossInfoNce", Napi::Function::New<lossInfoNce>(env, "lossInfoNce"));
  exports.Set("lossLayerMse", Napi::Function::New<lossLayerMse>(env, "lossLayerMse"));
  exports.Set("lossBarlowTwins", Napi::Function::New<lossBarlowTwins>(env, "lossBarlowTwins"));
  exports.Set("readSafetensors", Napi::Function::New<readSafetensors>(env, "readSafetensors"));
  exports.Set("writeSafetensors", Napi::Function::New<writeSafetensors>(env, "writeSafetensors"));
  registerAnalysis(env, exports);
  exports.Set("extractFeatures", Napi::Function::New<extractFeatures>(env, "extractFeatures"));
  exports.Set("fitLinearProbe", Napi::Function::New<fitLinearProbe>(env, "fitLinearProbe"));
  exports.Set("fitLinearProbeThroughBackbone", Napi::Function::New<fitLinearProbeThroughBackbone>(env, "fitLinearProbeThroughBackbone"));
  exports.Set("selectionMetric", Napi::Function::New<selectionMetric>(env, "selectionMetric"));
  exports.Set("createFinetuner", Napi::Function::New<FinetunerWrap::create>(env, "createFinetuner"));
  exports.Set("loadEncoder", Napi::Function::New<EncoderWrap::load>(env, "loadEncoder"));
  exports.Set("setErrorClass", Napi::Function::New<setErrorClass>(env, "setErrorClass"));
  exports.Set("createProcessGroup", Napi::Function::New<ProcessGroupWrap::create>(env, "createProcessGroup"));
  exports.Set("distBackends", Napi::Function::New<distBackends>(env, "distBackends"));
  exports.Set("liveTensorCount", Napi::Function::New<liveTensorCount>(env, "liveTensorCount"));
  return exports;
}

}  // namespace
}  // namespace imlm::bridge

// NODE_API_MODULE needs a plain identifier.
static Napi::Object initImlm(Napi::Env env, Napi::Object exports) {
  return imlm::bridge::init(env, exports);
}
NODE_API_MODULE(imlm, initImlm)

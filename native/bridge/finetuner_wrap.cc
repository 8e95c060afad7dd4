#include "bridge/finetuner_wrap.h"

#include "bridge/addon_data.h"
#include "bridge/augment_binding.h"
#include "bridge/busy_lease.h"
#include "bridge/eval_args.h"
#include "bridge/eval_task.h"
#include "bridge/map_args.h"
#include "bridge/tensor_wrap.h"
#include "core/compat.h"
#include "core/io/safetensors.h"
#include "core/tensor_io.h"

namespace imlm::bridge {
namespace {

eval::FinetuneConfig toFinetuneConfig(Napi::Env env, const Napi::Value& value) {
  OptionFields o(env, value, "config");
  eval::FinetuneConfig c;
  c.checkpoint = o.string("checkpoint", "");
  c.backbone.arch = o.string("arch", "resnet50");
  const std::string stem = o.string("stem", "standard");
  if (stem != "standard" && stem != "small") throwInvalidArg(env, "expected config.stem 'standard' or 'small' but received '" + stem + "'");
  c.backbone.stem = stem == "small" ? models::Stem::kSmall : models::Stem::kStandard;
  c.backbone.inChannels = o.integer("inChannels", 3, 1);
  c.backbone.zeroInitResidual = o.boolean("zeroInitResidual", false);
  c.task = requireTask(o.string("task", "multiclass"));
  c.numClasses = o.integer("numClasses", 2, 1);
  c.lr = o.number("lr", 1e-3);
  c.weightDecay = o.number("weightDecay", 0.0);
  c.batchSize = o.integer("batchSize", 16, 2);
  c.imageSize = o.integer("imageSize", 0);
  c.device = o.string("device", "auto");
  c.seed = static_cast<uint64_t>(o.integer("seed", 0));
  c.threads = o.integer("threads", 0);
  c.policy = toAugmentPolicy(env, o.get("policy"), c.imageSize);
  return c;
}

class CreateTask : public PromiseWorker {
 public:
  CreateTask(Napi::Env env, eval::FinetuneConfig config, at::Tensor images, at::Tensor labels, at::Tensor rows)
      : PromiseWorker(env), config_(std::move(config)), images_(std::move(images)), labels_(std::move(labels)), rows_(std::move(rows)) {}

 protected:
  void run() override {
    // The labelled subset is copied out of the (memory-mapped) split once, here.
    finetuner_ = std::make_shared<eval::Finetuner>(config_, imlm::selectRows(images_, rows_, "the training images").contiguous(),
                                                   imlm::selectRows(labels_, rows_, "the training labels").contiguous());
  }
  Napi::Value result(Napi::Env env) override { return FinetunerWrap::wrap(env, finetuner_); }

 private:
  eval::FinetuneConfig config_;
  at::Tensor images_, labels_, rows_;
  std::shared_ptr<eval::Finetuner> finetuner_;
};

/** A Finetuner operation on a worker thread, holding its lease until the Promise settles. */
class FinetunerTask : public EvalTask {
 public:
  FinetunerTask(Napi::Env env, const Napi::Value& onProgress, std::shared_ptr<eval::Finetuner> f, BusyLease lease)
      : EvalTask(env, onProgress), finetuner_(std::move(f)), lease_(std::move(lease)) {}

 protected:
  void settled() override { lease_.release(); }
  std::shared_ptr<eval::Finetuner> finetuner_;

 private:
  BusyLease lease_;
};

class RunTask : public FinetunerTask {
 public:
  RunTask(Napi::Env env, const Napi::Value& onProgress, std::shared_ptr<eval::Finetuner> f, BusyLease lease, int64_t steps, int64_t reportEvery)
      : FinetunerTask(env, onProgress, std::move(f), std::move(lease)), steps_(steps), reportEvery_(reportEvery) {}

 protected:
  void work(const eval::EvalProgressFn& progress, const std::atomic<bool>* cancel) override {
    summary_ = finetuner_->run(steps_, reportEvery_, progress, *cancel);
  }
  Napi::Value result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("stepsRun", static_cast<double>(summary_.stepsRun));
    o.Set("cancelled", summary_.cancelled);
    o.Set("lastLoss", summary_.lastLoss);
    o.Set("meanLoss", summary_.meanLoss);
    o.Set("seconds", summary_.seconds);
    o.Set("imagesPerSecond", summary_.imagesPerSecond);
    o.Set("stepsCompleted", static_cast<double>(finetuner_->stepsCompleted()));
    return o;
  }

 private:
  int64_t steps_, reportEvery_;
  eval::FinetuneSummary summary_;
};

class PredictTask : public FinetunerTask {
 public:
  PredictTask(Napi::Env env, const Napi::Value& onProgress, std::shared_ptr<eval::Finetuner> f, BusyLease lease, at::Tensor images, int64_t batchSize)
      : FinetunerTask(env, onProgress, std::move(f), std::move(lease)), images_(std::move(images)), batchSize_(batchSize) {}

 protected:
  void work(const eval::EvalProgressFn& progress, const std::atomic<bool>* cancel) override {
    probabilities_ = finetuner_->predict(images_, batchSize_, progress, cancel);
  }
  Napi::Value result(Napi::Env env) override { return TensorWrap::wrap(env, probabilities_); }

 private:
  at::Tensor images_;
  int64_t batchSize_;
  at::Tensor probabilities_;
};

class SaveTask : public FinetunerTask {
 public:
  SaveTask(Napi::Env env, std::shared_ptr<eval::Finetuner> f, BusyLease lease, std::string path, io::Metadata metadata)
      : FinetunerTask(env, Napi::Value(), std::move(f), std::move(lease)), path_(std::move(path)), metadata_(std::move(metadata)) {}

 protected:
  void work(const eval::EvalProgressFn&, const std::atomic<bool>*) override {
    io::TensorMap state = finetuner_->state();
    for (const auto& [name, tensor] : state) {
      if (at::isFloatingType(tensor.scalar_type()) && !at::isfinite(tensor).all().item<bool>()) {
        throw Error(ErrorCode::kNonFinite, "the fine-tuned network's tensor '" + name + "' holds NaN or infinite values; not saved");
      }
    }
    metadata_["format"] = "imlm-native/finetune-state";
    metadata_["format_version"] = "1";
    metadata_["arch"] = finetuner_->networkOptions().arch;
    metadata_["libtorch_version"] = compat::headerVersion();
    io::writeSafetensors(path_, state, metadata_);
  }
  Napi::Value result(Napi::Env env) override { return env.Undefined(); }

 private:
  std::string path_;
  io::Metadata metadata_;
};

class LoadTask : public FinetunerTask {
 public:
  LoadTask(Napi::Env env, std::shared_ptr<eval::Finetuner> f, BusyLease lease, std::string path)
      : FinetunerTask(env, Napi::Value(), std::move(f), std::move(lease)), path_(std::move(path)) {}

 protected:
  void work(const eval::EvalProgressFn&, const std::atomic<bool>*) override {
    finetuner_->loadState(io::readSafetensors(path_).tensors, path_);
  }
  Napi::Value result(Napi::Env env) override { return env.Undefined(); }

 private:
  std::string path_;
};

std::string stringArg(const Napi::CallbackInfo& args, size_t index, const char* what) {
  if (args.Length() <= index || !args[index].IsString()) throwInvalidArg(args.Env(), std::string("expected ") + what + " to be a string");
  return args[index].As<Napi::String>().Utf8Value();
}

}  // namespace

Napi::Function FinetunerWrap::define(Napi::Env env) {
  Napi::Function cls = DefineClass(env, "Finetuner",
                                   {
                                       InstanceMethod<&FinetunerWrap::run>("run"),
                                       InstanceMethod<&FinetunerWrap::cancel>("cancel"),
                                       InstanceMethod<&FinetunerWrap::predict>("predict"),
                                       InstanceMethod<&FinetunerWrap::save>("save"),
                                       InstanceMethod<&FinetunerWrap::load>("load"),
                                       InstanceAccessor<&FinetunerWrap::stepsCompleted>("stepsCompleted"),
                                       InstanceAccessor<&FinetunerWrap::stepsPerEpoch>("stepsPerEpoch"),
                                       InstanceAccessor<&FinetunerWrap::device>("device"),
                                       InstanceAccessor<&FinetunerWrap::initialisation>("initialisation"),
                                       InstanceAccessor<&FinetunerWrap::network>("network"),
                                   });
  AddonData::of(env).finetunerClass = Napi::Persistent(cls);
  return cls;
}

Napi::Value FinetunerWrap::create(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    if (args.Length() < 3) throwInvalidArg(env, "expected createFinetuner(config, trainImages, trainLabels, trainRows?)");
    at::Tensor rows = args.Length() > 3 && args[3].IsObject() ? TensorWrap::unwrap(env, args[3], "trainRows") : at::Tensor();
    return startWorker(new CreateTask(env, toFinetuneConfig(env, args[0]), TensorWrap::unwrap(env, args[1], "trainImages"),
                                      TensorWrap::unwrap(env, args[2], "trainLabels"), std::move(rows)));
  });
}

Napi::Object FinetunerWrap::wrap(Napi::Env env, std::shared_ptr<eval::Finetuner> finetuner) {
  return AddonData::of(env).finetunerClass.New({Napi::External<std::shared_ptr<eval::Finetuner>>::New(env, &finetuner)});
}

FinetunerWrap::FinetunerWrap(const Napi::CallbackInfo& args) : Napi::ObjectWrap<FinetunerWrap>(args) {
  if (args.Length() != 1 || !args[0].IsExternal()) throwInvalidArg(args.Env(), "Finetuner objects come from createFinetuner(config, images, labels)");
  finetuner_ = *args[0].As<Napi::External<std::shared_ptr<eval::Finetuner>>>().Data();
}

Napi::Value FinetunerWrap::run(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    OptionFields o(env, args.Length() > 0 ? args[0] : env.Undefined(), "options");
    const int64_t steps = o.integer("steps", 0);
    const int64_t reportEvery = o.integer("reportEvery", 10, 1);
    BusyLease lease = BusyLease::acquire(env, busy_, "this Finetuner");
    cancel_->store(false);
    auto* task = new RunTask(env, o.get("onProgress"), finetuner_, std::move(lease), steps, reportEvery);
    task->useCancelFlag(cancel_);
    return startWorker(task);
  });
}

Napi::Value FinetunerWrap::cancel(const Napi::CallbackInfo& args) {
  cancel_->store(true);
  return args.Env().Undefined();
}

Napi::Value FinetunerWrap::predict(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    at::Tensor images = TensorWrap::unwrap(env, args.Length() > 0 ? args[0] : env.Undefined(), "images");
    OptionFields o(env, args.Length() > 1 ? args[1] : Napi::Object::New(env), "options");
    const int64_t batchSize = o.integer("batchSize", 256, 1);
    BusyLease lease = BusyLease::acquire(env, busy_, "this Finetuner");
    return startWorker(new PredictTask(env, o.get("onProgress"), finetuner_, std::move(lease), std::move(images), batchSize));
  });
}

Napi::Value FinetunerWrap::save(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    std::string path = stringArg(args, 0, "path");
    io::Metadata metadata = stringMapArg(args, 1, "metadata");
    return startWorker(new SaveTask(env, finetuner_, BusyLease::acquire(env, busy_, "this Finetuner"), std::move(path), std::move(metadata)));
  });
}

Napi::Value FinetunerWrap::load(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    std::string path = stringArg(args, 0, "path");
    return startWorker(new LoadTask(env, finetuner_, BusyLease::acquire(env, busy_, "this Finetuner"), std::move(path)));
  });
}

Napi::Value FinetunerWrap::stepsCompleted(const Napi::CallbackInfo& args) {
  return Napi::Number::New(args.Env(), static_cast<double>(finetuner_->stepsCompleted()));
}
Napi::Value FinetunerWrap::stepsPerEpoch(const Napi::CallbackInfo& args) {
  return Napi::Number::New(args.Env(), static_cast<double>(finetuner_->stepsPerEpoch()));
}
Napi::Value FinetunerWrap::device(const Napi::CallbackInfo& args) { return Napi::String::New(args.Env(), deviceName(finetuner_->device())); }
Napi::Value FinetunerWrap::initialisation(const Napi::CallbackInfo& args) {
  return Napi::String::New(args.Env(), finetuner_->initialisation());
}
Napi::Value FinetunerWrap::network(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  const models::ResNetOptions& o = finetuner_->networkOptions();
  Napi::Object out = Napi::Object::New(env);
  out.Set("arch", o.arch);
  out.Set("stem", o.stem == models::Stem::kSmall ? "small" : "standard");
  out.Set("inChannels", static_cast<double>(o.inChannels));
  return out;
}

}  // namespace imlm::bridge

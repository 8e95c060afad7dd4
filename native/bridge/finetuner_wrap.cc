#include "bridge/finetuner_wrap.h"

#include "bridge/addon_data.h"
#include "bridge/augment_binding.h"
#include "bridge/busy_lease.h"
#include "bridge/error_conversion.h"
#include "bridge/eval_task.h"
#include "bridge/js_args.h"
#include "bridge/map_args.h"
#include "bridge/promise_worker.h"
#include "bridge/tensor_wrap.h"
#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "core/tensor_io.h"

namespace imlm::bridge {
namespace {

eval::FinetuneConfig toFinetuneConfig(Napi::Env env, const JsValue& value) {
  JsObject o(value);
  eval::FinetuneConfig c;
  // Absent or null: from scratch (randomly initialised), no checkpoint to read.
  const JsValue checkpoint = o.optional("checkpoint");
  c.checkpoint = checkpoint.given() ? checkpoint.string() : "";
  c.backbone.arch = o.string("arch");
  c.backbone.stem = o.choice<models::Stem>("stem", {{"standard", models::Stem::kStandard}, {"small", models::Stem::kSmall}});
  c.backbone.inChannels = o.integer("inChannels", 1);
  c.backbone.zeroInitResidual = o.boolean("zeroInitResidual");
  c.task = requireTask(o.string("task"));
  c.numClasses = o.integer("numClasses", 1);
  c.lr = o.number("lr");
  c.weightDecay = o.number("weightDecay");
  c.batchSize = o.integer("batchSize", 2);
  c.imageSize = o.integer("imageSize", 0);
  c.device = o.string("device");
  c.seed = static_cast<uint64_t>(o.integer("seed", 0));
  c.threads = o.integer("threads", 0);
  c.policy = toAugmentPolicy(env, o.field("policy").raw(), c.imageSize);
  return c;
}

class FinetuneCreateTask : public PromiseWorker {
 public:
  FinetuneCreateTask(Napi::Env env, eval::FinetuneConfig config, at::Tensor images, at::Tensor labels, at::Tensor rows)
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

class FinetuneRunTask : public FinetunerTask {
 public:
  FinetuneRunTask(Napi::Env env, const Napi::Value& onProgress, std::shared_ptr<eval::Finetuner> f, BusyLease lease, int64_t steps, int64_t reportEvery)
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

class FinetuneSaveTask : public FinetunerTask {
 public:
  FinetuneSaveTask(Napi::Env env, std::shared_ptr<eval::Finetuner> f, BusyLease lease, std::string path, io::Metadata metadata)
      : FinetunerTask(env, Napi::Value(), std::move(f), std::move(lease)), path_(std::move(path)), metadata_(std::move(metadata)) {}

 protected:
  void work(const eval::EvalProgressFn&, const std::atomic<bool>*) override {
    io::writeFinetuneState(path_, finetuner_->state(), std::move(metadata_), finetuner_->networkOptions().arch);
  }
  Napi::Value result(Napi::Env env) override { return env.Undefined(); }

 private:
  std::string path_;
  io::Metadata metadata_;
};

class FinetuneLoadTask : public FinetunerTask {
 public:
  FinetuneLoadTask(Napi::Env env, std::shared_ptr<eval::Finetuner> f, BusyLease lease, std::string path)
      : FinetunerTask(env, Napi::Value(), std::move(f), std::move(lease)), path_(std::move(path)) {}

 protected:
  void work(const eval::EvalProgressFn&, const std::atomic<bool>*) override {
    finetuner_->loadState(io::readSafetensors(path_).tensors, path_);
  }
  Napi::Value result(Napi::Env env) override { return env.Undefined(); }

 private:
  std::string path_;
};

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
    JsArgs in(args);
    eval::FinetuneConfig config = toFinetuneConfig(env, in.at(0, "config"));
    at::Tensor images = in.tensor(1, "trainImages");
    at::Tensor labels = in.tensor(2, "trainLabels");
    // Absent: every training row (no label fraction).
    at::Tensor rows = in.at(3, "trainRows").given() ? in.tensor(3, "trainRows") : at::Tensor();
    return startWorker(new FinetuneCreateTask(env, std::move(config), std::move(images), std::move(labels), std::move(rows)));
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
    JsObject o = JsArgs(args).object(0, "options");
    const int64_t steps = o.integer("steps", 0);
    const int64_t reportEvery = o.integer("reportEvery", 1);
    Napi::Value onProgress = o.optionalFunction("onProgress");
    BusyLease lease = BusyLease::acquire(env, busy_, "this Finetuner");
    return startCancellable(new FinetuneRunTask(env, onProgress, finetuner_, std::move(lease), steps, reportEvery), cancel_);
  });
}

Napi::Value FinetunerWrap::cancel(const Napi::CallbackInfo& args) {
  cancel_->store(true);
  return args.Env().Undefined();
}

Napi::Value FinetunerWrap::predict(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    JsArgs in(args);
    at::Tensor images = in.tensor(0, "images");
    JsObject o = in.object(1, "options");
    const int64_t batchSize = o.integer("batchSize", 1);
    Napi::Value onProgress = o.optionalFunction("onProgress");
    BusyLease lease = BusyLease::acquire(env, busy_, "this Finetuner");
    return startWorker(new PredictTask(env, onProgress, finetuner_, std::move(lease), std::move(images), batchSize));
  });
}

Napi::Value FinetunerWrap::save(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    JsArgs in(args);
    std::string path = in.string(0, "path");
    io::Metadata metadata = stringMapArg(in.at(1, "metadata"));
    return startWorker(new FinetuneSaveTask(env, finetuner_, BusyLease::acquire(env, busy_, "this Finetuner"), std::move(path), std::move(metadata)));
  });
}

Napi::Value FinetunerWrap::load(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    std::string path = JsArgs(args).string(0, "path");
    return startWorker(new FinetuneLoadTask(env, finetuner_, BusyLease::acquire(env, busy_, "this Finetuner"), std::move(path)));
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

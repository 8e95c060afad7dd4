#include "bridge/trainer_wrap.h"

#include <string>

#include "bridge/addon_data.h"
#include "bridge/busy_lease.h"
#include "bridge/config_convert.h"
#include "bridge/dist_convert.h"
#include "bridge/error_conversion.h"
#include "bridge/js_args.h"
#include "bridge/map_args.h"
#include "bridge/progress_task.h"
#include "bridge/promise_worker.h"
#include "bridge/source_wrap.h"
#include "bridge/tensor_wrap.h"
#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "core/tensor_io.h"

namespace imlm::bridge {
namespace {

Napi::Object metricsToJs(Napi::Env env, const train::StepMetrics& m) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("step", static_cast<double>(m.step));
  o.Set("loss", m.loss);
  o.Set("infoNce", m.infoNce);
  Napi::Array blocks = Napi::Array::New(env, 4);
  for (uint32_t i = 0; i < 4; ++i) blocks.Set(i, m.blocks[i]);
  o.Set("blocks", blocks);
  o.Set("top1", m.top1);
  o.Set("top5", m.top5);
  o.Set("lr", m.lr);
  o.Set("keyMomentum", m.keyMomentum);
  return o;
}

Napi::Object meansToJs(Napi::Env env, const train::IntervalMeans& m) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("steps", static_cast<double>(m.steps));
  o.Set("loss", m.loss);
  o.Set("infoNce", m.infoNce);
  Napi::Array blocks = Napi::Array::New(env, 4);
  for (uint32_t i = 0; i < 4; ++i) blocks.Set(i, m.blocks[i]);
  o.Set("blocks", blocks);
  return o;
}

/** [{step, report, ops: {name: [all, topLevel, outsideMultiTensor]}}] */
Napi::Array opCountsToJs(Napi::Env env, const std::vector<train::StepOps>& steps) {
  Napi::Array out = Napi::Array::New(env, steps.size());
  for (uint32_t i = 0; i < steps.size(); ++i) {
    Napi::Object step = Napi::Object::New(env);
    step.Set("step", static_cast<double>(steps[i].step));
    step.Set("report", steps[i].report);
    Napi::Object ops = Napi::Object::New(env);
    for (const auto& [name, count] : steps[i].ops) {
      Napi::Array counts = Napi::Array::New(env, 3);
      counts.Set(0u, static_cast<double>(count.all));
      counts.Set(1u, static_cast<double>(count.topLevel));
      counts.Set(2u, static_cast<double>(count.outsideMultiTensor));
      ops.Set(name, counts);
    }
    step.Set("ops", ops);
    out.Set(i, step);
  }
  return out;
}

/** A trainer operation on a worker thread, holding the trainer's lease until it settles. */
class TrainerTask : public PromiseWorker {
 public:
  TrainerTask(Napi::Env env, std::shared_ptr<train::Trainer> trainer, BusyLease lease)
      : PromiseWorker(env), trainer_(std::move(trainer)), lease_(std::move(lease)) {}

 protected:
  // Released before the Promise settles, so code awaiting it finds the trainer free. (On a
  // rejection the worker, and with it the lease, is destroyed before any JS continuation runs.)
  Napi::Value result(Napi::Env env) override {
    lease_.release();
    return env.Undefined();
  }

  std::shared_ptr<train::Trainer> trainer_;
  BusyLease lease_;
};

class TrainerSaveTask : public TrainerTask {
 public:
  TrainerSaveTask(Napi::Env env, std::shared_ptr<train::Trainer> t, BusyLease lease, std::string path, io::Metadata metadata,
           io::TensorMap extra)
      : TrainerTask(env, std::move(t), std::move(lease)), path_(std::move(path)), metadata_(std::move(metadata)),
        extra_(std::move(extra)) {}

 protected:
  void run() override {
    io::writeTrainState(path_, trainer_->state(), extra_, std::move(metadata_), trainer_->config().json, trainer_->stepsCompleted());
  }

 private:
  std::string path_;
  io::Metadata metadata_;
  io::TensorMap extra_;
};

class TrainerLoadTask : public TrainerTask {
 public:
  TrainerLoadTask(Napi::Env env, std::shared_ptr<train::Trainer> t, BusyLease lease, std::string path, bool backboneOnly,
                  models::InitChannels channels = models::InitChannels::kRefuse)
      : TrainerTask(env, std::move(t), std::move(lease)), path_(std::move(path)), backboneOnly_(backboneOnly), channels_(channels) {}

 protected:
  void run() override {
    io::SafetensorsContent content = io::readSafetensors(path_);
    if (backboneOnly_) {
      trainer_->loadBackbone(std::move(content.tensors), path_, channels_);
    } else {
      trainer_->loadState(content.tensors, path_);
    }
  }

 private:
  std::string path_;
  bool backboneOnly_;
  models::InitChannels channels_;  // backbone only
};

class ExportTask : public TrainerTask {
 public:
  ExportTask(Napi::Env env, std::shared_ptr<train::Trainer> t, BusyLease lease, std::string path, io::Metadata metadata)
      : TrainerTask(env, std::move(t), std::move(lease)), path_(std::move(path)), metadata_(std::move(metadata)) {}

 protected:
  void run() override {
    // What a reader needs to rebuild the network and feed it (scripts/load_backbone.py, docs/formats.md).
    const train::TrainConfig& c = trainer_->config();
    metadata_["stem"] = c.backbone.stem == models::Stem::kSmall ? "small" : "standard";
    metadata_["in_channels"] = std::to_string(c.backbone.inChannels);
    metadata_["image_size"] = std::to_string(c.imageSize);
    metadata_["input"] = "uint8 pixels / 255, no mean/std normalisation, bilinear resize to image_size";
    io::writeBackbone(path_, trainer_->backbone(), std::move(metadata_), c.backbone.arch);
  }

 private:
  std::string path_;
  io::Metadata metadata_;
};

/** Trainer.queryRepresentation: the monitor's features, on a worker (eval mode, nothing else touched). */
class RepresentationTask : public TrainerTask {
 public:
  RepresentationTask(Napi::Env env, std::shared_ptr<train::Trainer> t, BusyLease lease, at::Tensor images, int64_t batchSize)
      : TrainerTask(env, std::move(t), std::move(lease)), images_(std::move(images)), batchSize_(batchSize) {}

 protected:
  void run() override { features_ = trainer_->queryRepresentation(images_, batchSize_); }
  Napi::Value result(Napi::Env env) override {
    TrainerTask::result(env);  // releases the trainer
    return TensorWrap::wrap(env, features_);
  }

 private:
  at::Tensor images_;
  int64_t batchSize_;
  at::Tensor features_;
};

class TrainerCreateTask : public PromiseWorker {
 public:
  TrainerCreateTask(Napi::Env env, train::TrainConfig config, dist::DistOptions dist)
      : PromiseWorker(env), config_(std::move(config)), dist_(std::move(dist)) {}

 protected:
  // Across ranks this blocks in the rendezvous until every rank has arrived: a worker thread.
  void run() override { trainer_ = std::make_shared<train::Trainer>(config_, dist_); }
  Napi::Value result(Napi::Env env) override { return TrainerWrap::wrap(env, trainer_); }

 private:
  train::TrainConfig config_;
  dist::DistOptions dist_;
  std::shared_ptr<train::Trainer> trainer_;
};

/** Trainer.run: the steps on the trainer's thread, progress queued to the JS callback. */
class TrainerRunTask : public ProgressTask<train::ProgressReport> {
 public:
  TrainerRunTask(Napi::Env env, std::shared_ptr<train::Trainer> trainer, std::shared_ptr<train::BatchSource> source,
          BusyLease trainerLease, BusyLease sourceLease, train::RunOptions options, const Napi::Value& onProgress)
      : ProgressTask<train::ProgressReport>(env, onProgress),
        trainer_(std::move(trainer)),
        source_(std::move(source)),
        trainerLease_(std::move(trainerLease)),
        sourceLease_(std::move(sourceLease)),
        options_(options) {}

 protected:
  void work(const ProgressFn& progress, const std::atomic<bool>* cancel) override {
    summary_ = trainer_->run(*source_, options_, progress, *cancel);
  }

  Napi::Value reportToJs(Napi::Env env, const train::ProgressReport& report) override {
    Napi::Object o = metricsToJs(env, report.last);
    o.Set("mean", meansToJs(env, report.mean));
    o.Set("imagesPerSecond", report.imagesPerSecond);
    o.Set("stepsThisRun", static_cast<double>(report.stepsThisRun));
    return o;
  }

  Napi::Value result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("stepsRun", static_cast<double>(summary_.stepsRun));
    o.Set("cancelled", summary_.cancelled);
    o.Set("last", summary_.stepsRun > 0 ? Napi::Value(metricsToJs(env, summary_.last)) : env.Null());
    o.Set("imagesPerSecond", summary_.imagesPerSecond);
    o.Set("seconds", summary_.seconds);
    o.Set("stepsCompleted", static_cast<double>(trainer_->stepsCompleted()));
    if (options_.countOps) o.Set("opCounts", opCountsToJs(env, summary_.opCounts));
    return o;
  }

  // Released before the Promise settles, so code awaiting it finds both free.
  void settled() override {
    trainerLease_.release();
    sourceLease_.release();
  }

 private:
  std::shared_ptr<train::Trainer> trainer_;
  std::shared_ptr<train::BatchSource> source_;
  BusyLease trainerLease_;
  BusyLease sourceLease_;
  train::RunOptions options_;
  train::RunSummary summary_;
};

}  // namespace

Napi::Function TrainerWrap::define(Napi::Env env) {
  Napi::Function cls = DefineClass(env, "Trainer",
                                   {
                                       InstanceMethod<&TrainerWrap::run>("run"),
                                       InstanceMethod<&TrainerWrap::cancel>("cancel"),
                                       InstanceMethod<&TrainerWrap::save>("save"),
                                       InstanceMethod<&TrainerWrap::load>("load"),
                                       InstanceMethod<&TrainerWrap::exportBackbone>("exportBackbone"),
                                       InstanceMethod<&TrainerWrap::loadBackbone>("loadBackbone"),
                                       InstanceMethod<&TrainerWrap::queryRepresentation>("queryRepresentation"),
                                       InstanceAccessor<&TrainerWrap::stepsCompleted>("stepsCompleted"),
                                       InstanceAccessor<&TrainerWrap::device>("device"),
                                       InstanceAccessor<&TrainerWrap::busy>("busy"),
                                       InstanceAccessor<&TrainerWrap::rank>("rank"),
                                       InstanceAccessor<&TrainerWrap::worldSize>("worldSize"),
                                   });
  AddonData::of(env).trainerClass = Napi::Persistent(cls);
  return cls;
}

Napi::Value TrainerWrap::create(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    JsArgs in(args);
    return startWorker(new TrainerCreateTask(env, toTrainConfig(in.at(0, "config")), toDistOptions(in.at(1, "dist"))));
  });
}

Napi::Object TrainerWrap::wrap(Napi::Env env, std::shared_ptr<train::Trainer> trainer) {
  return AddonData::of(env).trainerClass.New({Napi::External<std::shared_ptr<train::Trainer>>::New(env, &trainer)});
}

TrainerWrap::TrainerWrap(const Napi::CallbackInfo& args) : Napi::ObjectWrap<TrainerWrap>(args) {
  if (args.Length() != 1 || !args[0].IsExternal()) {
    throwInvalidArg(args.Env(), "Trainer objects come from createTrainer(config)");
  }
  trainer_ = *args[0].As<Napi::External<std::shared_ptr<train::Trainer>>>().Data();
}

Napi::Value TrainerWrap::run(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    JsArgs in(args);
    SourceWrap* source = SourceWrap::unwrap(env, in.at(0, "source").raw());
    JsObject o = in.object(1, "options");
    train::RunOptions options;
    options.steps = o.integer("steps", 0);
    options.reportEvery = o.integer("reportEvery", 1);
    options.countOps = o.boolean("countOps");
    Napi::Value onProgress = o.optionalFunction("onProgress");
    BusyLease trainerLease = BusyLease::acquire(env, busy_, "this Trainer");
    BusyLease sourceLease = BusyLease::acquire(env, source->busy(), "this BatchSource");
    return startCancellable(
        new TrainerRunTask(env, trainer_, source->source(), std::move(trainerLease), std::move(sourceLease), options, onProgress), cancel_);
  });
}

Napi::Value TrainerWrap::cancel(const Napi::CallbackInfo& args) {
  cancel_->store(true);
  return args.Env().Undefined();
}

Napi::Value TrainerWrap::save(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    JsArgs in(args);
    std::string path = in.string(0, "path");
    io::Metadata metadata = stringMapArg(in.at(1, "metadata"));
    io::TensorMap extra = tensorMapArg(in.at(2, "extra"));
    return startWorker(new TrainerSaveTask(env, trainer_, BusyLease::acquire(env, busy_, "this Trainer"), std::move(path),
                              std::move(metadata), std::move(extra)));
  });
}

Napi::Value TrainerWrap::load(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    return startWorker(new TrainerLoadTask(env, trainer_, BusyLease::acquire(env, busy_, "this Trainer"), JsArgs(args).string(0, "path"), false));
  });
}

Napi::Value TrainerWrap::loadBackbone(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    JsArgs in(args);
    std::string path = in.string(0, "path");
    const auto channels = in.object(1, "options").choice<models::InitChannels>(
        "initChannels", {{"refuse", models::InitChannels::kRefuse}, {"sum", models::InitChannels::kSum}});
    return startWorker(new TrainerLoadTask(env, trainer_, BusyLease::acquire(env, busy_, "this Trainer"), std::move(path), true, channels));
  });
}

Napi::Value TrainerWrap::exportBackbone(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    JsArgs in(args);
    std::string path = in.string(0, "path");
    io::Metadata metadata = stringMapArg(in.at(1, "metadata"));
    return startWorker(new ExportTask(env, trainer_, BusyLease::acquire(env, busy_, "this Trainer"), std::move(path), std::move(metadata)));
  });
}

Napi::Value TrainerWrap::queryRepresentation(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    JsArgs in(args);
    at::Tensor images = in.tensor(0, "images");
    const int64_t batchSize = in.integer(1, "batchSize", 1);
    return startWorker(new RepresentationTask(env, trainer_, BusyLease::acquire(env, busy_, "this Trainer"), std::move(images), batchSize));
  });
}

Napi::Value TrainerWrap::stepsCompleted(const Napi::CallbackInfo& args) {
  return Napi::Number::New(args.Env(), static_cast<double>(trainer_->stepsCompleted()));
}

Napi::Value TrainerWrap::device(const Napi::CallbackInfo& args) {
  return Napi::String::New(args.Env(), deviceName(trainer_->device()));
}

Napi::Value TrainerWrap::rank(const Napi::CallbackInfo& args) {
  return Napi::Number::New(args.Env(), static_cast<double>(trainer_->rank()));
}

Napi::Value TrainerWrap::worldSize(const Napi::CallbackInfo& args) {
  return Napi::Number::New(args.Env(), static_cast<double>(trainer_->worldSize()));
}

Napi::Value TrainerWrap::busy(const Napi::CallbackInfo& args) {
  return Napi::Boolean::New(args.Env(), busy_->load());
}

}  // namespace imlm::bridge

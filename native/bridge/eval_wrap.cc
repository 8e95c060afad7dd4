#include "bridge/eval_wrap.h"

#include <chrono>

#include "bridge/error_conversion.h"
#include "bridge/eval_task.h"
#include "bridge/js_args.h"
#include "bridge/promise_worker.h"
#include "bridge/tensor_wrap.h"
#include "core/eval/backbone_file.h"
#include "core/eval/features.h"
#include "core/eval/linear_probe.h"
#include "core/eval/reference_probe.h"
#include "core/eval/selection_metric.h"
#include "core/tensor_io.h"

namespace imlm::bridge {
namespace {

const char* stemName(models::Stem stem) { return stem == models::Stem::kSmall ? "small" : "standard"; }

Napi::Value progressArg(const Napi::CallbackInfo& args) { return JsArgs(args).at(1, "onProgress").optionalFunction(); }

eval::LinearProbeOptions toProbeOptions(const JsObject& o) {
  eval::LinearProbeOptions p;
  p.task = requireTask(o.string("task"));
  p.metric = eval::metricFromName(o.string("metric"));
  p.numClasses = o.integer("numClasses", 1);
  p.method = o.choice<eval::HeadMethod>("method", {{"lbfgs", eval::HeadMethod::kLbfgs}, {"adam", eval::HeadMethod::kAdam}});
  p.maxIterations = o.integer("maxIterations", 1);
  p.epochs = o.integer("epochs", 1);
  p.batchSize = o.integer("batchSize", 1);
  p.standardize = o.boolean("standardize");
  p.seed = static_cast<uint64_t>(o.integer("seed", 0));
  p.sweep.clear();
  for (const JsValue& item : o.field("sweep").items()) {
    JsObject point(item);
    p.sweep.push_back({point.number("lr"), point.number("weightDecay")});
  }
  return p;
}

Napi::Object probeResultToJs(Napi::Env env, const eval::LinearProbeResult& r) {
  Napi::Array points = Napi::Array::New(env, r.points.size());
  for (uint32_t i = 0; i < r.points.size(); ++i) {
    Napi::Object p = Napi::Object::New(env);
    p.Set("lr", r.points[i].point.lr);
    p.Set("weightDecay", r.points[i].point.weightDecay);
    p.Set("valMetric", r.points[i].valMetric);
    p.Set("trainLoss", r.points[i].trainLoss);
    p.Set("seconds", r.points[i].seconds);
    points.Set(i, p);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("points", points);
  out.Set("chosen", static_cast<double>(r.chosen));
  out.Set("weight", TensorWrap::wrap(env, r.head.weight.to(at::kCPU)));
  out.Set("bias", TensorWrap::wrap(env, r.head.bias.to(at::kCPU)));
  out.Set("mean", TensorWrap::wrap(env, r.head.mean.to(at::kCPU)));
  out.Set("scale", TensorWrap::wrap(env, r.head.scale.to(at::kCPU)));
  out.Set("valProbabilities", TensorWrap::wrap(env, r.valProbabilities));
  out.Set("testProbabilities", r.testProbabilities.defined() ? Napi::Value(TensorWrap::wrap(env, r.testProbabilities)) : env.Null());
  return out;
}

class FeaturesTask : public EvalTask {
 public:
  FeaturesTask(Napi::Env env, const Napi::Value& onProgress, std::string checkpoint, at::Tensor images,
               eval::FeatureOptions options, std::string device, int64_t threads)
      : EvalTask(env, onProgress), checkpoint_(std::move(checkpoint)), images_(std::move(images)), options_(options),
        device_(std::move(device)), threads_(threads) {}

 protected:
  void work(const eval::EvalProgressFn& progress, const std::atomic<bool>* cancel) override {
    const c10::Device device = resolveDevice(device_);
    if (device.is_cpu()) eval::useIntraOpThreads(threads_);
    file_ = eval::readBackboneWeights(checkpoint_);
    models::ResNet model = eval::loadNetwork(file_, checkpoint_);
    options_.embedding = options_.embedding && file_.hasHead;
    features_ = eval::extractFeatures(*model, images_, device, options_, progress, cancel);
    file_.weights.clear();
  }
  Napi::Value result(Napi::Env env) override {
    Napi::Object out = Napi::Object::New(env);
    Napi::Array blocks = Napi::Array::New(env, 4);
    for (uint32_t k = 0; k < 4; ++k) blocks.Set(k, TensorWrap::wrap(env, features_.blocks[k]));
    out.Set("blocks", blocks);
    out.Set("embedding", features_.embedding.defined() ? Napi::Value(TensorWrap::wrap(env, features_.embedding)) : env.Null());
    out.Set("arch", file_.options.arch);
    out.Set("stem", stemName(file_.options.stem));
    out.Set("inChannels", static_cast<double>(file_.options.inChannels));
    out.Set("hasHead", file_.hasHead);
    out.Set("kind", file_.kind);
    return out;
  }

 private:
  std::string checkpoint_;
  at::Tensor images_;
  eval::FeatureOptions options_;
  std::string device_;
  int64_t threads_;
  eval::BackboneWeights file_;
  eval::Features features_;
};

class ProbeTask : public EvalTask {
 public:
  ProbeTask(Napi::Env env, const Napi::Value& onProgress, std::array<at::Tensor, 5> data, at::Tensor trainRows,
            eval::LinearProbeOptions options, std::string device, int64_t threads)
      : EvalTask(env, onProgress), data_(std::move(data)), trainRows_(std::move(trainRows)), options_(std::move(options)),
        device_(std::move(device)), threads_(threads) {}

 protected:
  void work(const eval::EvalProgressFn& progress, const std::atomic<bool>* cancel) override {
    const c10::Device device = resolveDevice(device_);
    if (device.is_cpu()) eval::useIntraOpThreads(threads_);
    const at::Tensor trainX = imlm::selectRows(data_[0], trainRows_, "the training features");
    const at::Tensor trainY = imlm::selectRows(data_[1], trainRows_, "the training labels");
    result_ = eval::fitLinearProbe(trainX, trainY, data_[2], data_[3], data_[4], options_, device, progress, cancel);
  }
  Napi::Value result(Napi::Env env) override { return probeResultToJs(env, result_); }

 private:
  std::array<at::Tensor, 5> data_;  // train X, train Y, val X, val Y, test X (may be undefined)
  at::Tensor trainRows_;             // the label fraction's rows of train X / Y (undefined: all)
  eval::LinearProbeOptions options_;
  std::string device_;
  int64_t threads_;
  eval::LinearProbeResult result_;
};

class ThroughBackboneTask : public EvalTask {
 public:
  ThroughBackboneTask(Napi::Env env, const Napi::Value& onProgress, std::string checkpoint, eval::ThroughBackboneInputs inputs,
                      at::Tensor trainRows, eval::LinearProbeOptions options, std::string device, int64_t threads)
      : EvalTask(env, onProgress), checkpoint_(std::move(checkpoint)), inputs_(std::move(inputs)), trainRows_(std::move(trainRows)),
        options_(std::move(options)),
        device_(std::move(device)), threads_(threads) {}

 protected:
  void work(const eval::EvalProgressFn& progress, const std::atomic<bool>* cancel) override {
    const c10::Device device = resolveDevice(device_);
    if (device.is_cpu()) eval::useIntraOpThreads(threads_);
    models::ResNet model = eval::loadNetwork(eval::readBackboneWeights(checkpoint_), checkpoint_);
    inputs_.trainImages = imlm::selectRows(inputs_.trainImages, trainRows_, "the training images");
    inputs_.trainLabels = imlm::selectRows(inputs_.trainLabels, trainRows_, "the training labels");
    result_ = eval::fitLinearProbeThroughBackbone(*model, inputs_, options_, device, progress, cancel);
  }
  Napi::Value result(Napi::Env env) override { return probeResultToJs(env, result_); }

 private:
  std::string checkpoint_;
  eval::ThroughBackboneInputs inputs_;
  at::Tensor trainRows_;
  eval::LinearProbeOptions options_;
  std::string device_;
  int64_t threads_;
  eval::LinearProbeResult result_;
};

class MetricTask : public PromiseWorker {
 public:
  MetricTask(Napi::Env env, at::Tensor probabilities, at::Tensor labels, Task task, eval::Metric metric)
      : PromiseWorker(env), probabilities_(std::move(probabilities)), labels_(std::move(labels)), task_(task), metric_(metric) {}

 protected:
  void run() override { value_ = eval::selectionMetric(probabilities_, labels_, task_, metric_); }
  Napi::Value result(Napi::Env env) override { return Napi::Number::New(env, value_); }

 private:
  at::Tensor probabilities_, labels_;
  Task task_;
  eval::Metric metric_;
  double value_ = 0;
};

}  // namespace

Napi::Value extractFeatures(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    JsObject o = JsArgs(args).object(0, "options");
    eval::FeatureOptions options;
    options.batchSize = o.integer("batchSize", 1);
    options.imageSize = o.integer("imageSize", 0);
    options.embedding = o.boolean("embedding");
    return startWorker(new FeaturesTask(env, progressArg(args), o.string("checkpoint"), o.tensor("images"), options, o.string("device"),
                                        o.integer("threads", 0)));
  });
}

Napi::Value fitLinearProbe(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    JsObject o = JsArgs(args).object(0, "options");
    std::array<at::Tensor, 5> data{o.tensor("trainFeatures"), o.tensor("trainLabels"), o.tensor("valFeatures"),
                                   o.tensor("valLabels"), o.optionalTensor("testFeatures")};
    return startWorker(new ProbeTask(env, progressArg(args), std::move(data), o.optionalTensor("trainRows"), toProbeOptions(o),
                                     o.string("device"), o.integer("threads", 0)));
  });
}

Napi::Value fitLinearProbeThroughBackbone(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    JsObject o = JsArgs(args).object(0, "options");
    eval::ThroughBackboneInputs inputs;
    inputs.block = o.integer("block", 1, 4);
    inputs.trainImages = o.tensor("trainImages");
    inputs.trainLabels = o.tensor("trainLabels");
    inputs.valImages = o.tensor("valImages");
    inputs.valLabels = o.tensor("valLabels");
    inputs.imageSize = o.integer("imageSize", 0);
    inputs.valBatchSize = o.integer("featureBatchSize", 1);
    return startWorker(new ThroughBackboneTask(env, progressArg(args), o.string("checkpoint"), std::move(inputs), o.optionalTensor("trainRows"),
                                               toProbeOptions(o), o.string("device"), o.integer("threads", 0)));
  });
}

Napi::Value selectionMetric(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    JsArgs in(args);
    return startWorker(new MetricTask(env, in.tensor(0, "probabilities"), in.tensor(1, "labels"), requireTask(in.string(2, "task")),
                                      eval::metricFromName(in.string(3, "metric"))));
  });
}

}  // namespace imlm::bridge

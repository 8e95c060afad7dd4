#include "bridge/analysis_binding.h"

#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bridge/error_conversion.h"
#include "bridge/promise_worker.h"
#include "bridge/tensor_wrap.h"
#include "core/analysis/roc_curve.h"
#include "core/analysis/align.h"
#include "core/analysis/cka.h"
#include "core/analysis/classification.h"
#include "core/analysis/ks.h"

namespace imlm::bridge {
namespace {

Napi::Object optionsArg(const Napi::CallbackInfo& args, size_t index) {
  if (args.Length() <= index || args[index].IsUndefined()) return Napi::Object::New(args.Env());
  if (!args[index].IsObject()) throwInvalidArg(args.Env(), "expected an options object");
  return args[index].As<Napi::Object>();
}

std::optional<double> optionalNumber(const Napi::Object& options, const char* name) {
  Napi::Value v = options.Get(name);
  if (v.IsUndefined() || v.IsNull()) return std::nullopt;
  if (!v.IsNumber()) throwInvalidArg(options.Env(), std::string("expected options.") + name + " to be a number");
  return v.As<Napi::Number>().DoubleValue();
}

int64_t integerOption(const Napi::Object& options, const char* name, int64_t fallback) {
  const std::optional<double> v = optionalNumber(options, name);
  if (!v) return fallback;
  if (!(std::floor(*v) == *v && *v >= 0 && *v <= 9007199254740991.0)) {
    throwInvalidArg(options.Env(), std::string("expected options.") + name + " to be a non-negative integer but received " + std::to_string(*v));
  }
  return static_cast<int64_t>(*v);
}

std::string stringOption(const Napi::Object& options, const char* name, const std::string& fallback) {
  Napi::Value v = options.Get(name);
  if (v.IsUndefined()) return fallback;
  if (!v.IsString()) throwInvalidArg(options.Env(), std::string("expected options.") + name + " to be a string");
  return v.As<Napi::String>().Utf8Value();
}

Napi::Value numberOrNull(Napi::Env env, const std::optional<double>& v) { return v ? Napi::Number::New(env, *v) : env.Null(); }

Napi::Object toJs(Napi::Env env, const analysis::Estimate& e) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("value", numberOrNull(env, e.value));
  o.Set("reason", e.reason.empty() ? env.Null() : Napi::String::New(env, e.reason));
  if (e.ci) {
    Napi::Object ci = Napi::Object::New(env);
    ci.Set("low", e.ci->low);
    ci.Set("high", e.ci->high);
    ci.Set("confidence", e.ci->confidence);
    o.Set("ci", ci);
  } else {
    o.Set("ci", env.Null());
  }
  if (e.paper) {
    Napi::Object paper = Napi::Object::New(env);
    paper.Set("mean", e.paper->mean);
    paper.Set("low", e.paper->low);
    paper.Set("high", e.paper->high);
    paper.Set("values", static_cast<double>(e.paper->values));
    o.Set("paperInterval", paper);
  } else {
    o.Set("paperInterval", env.Null());
  }
  o.Set("resamplesUsed", static_cast<double>(e.resamplesUsed));
  return o;
}

class MetricsTask : public PromiseWorker {
 public:
  MetricsTask(Napi::Env env, at::Tensor probabilities, at::Tensor labels, analysis::Task task, analysis::BootstrapOptions options)
      : PromiseWorker(env), probabilities_(std::move(probabilities)), labels_(std::move(labels)), task_(task), options_(options) {}

 protected:
  void run() override { result_ = analysis::classificationMetrics(probabilities_, labels_, task_, options_); }
  Napi::Value result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("task", analysis::taskName(result_.task));
    o.Set("samples", static_cast<double>(result_.samples));
    o.Set("classes", static_cast<double>(result_.classes));
    Napi::Object bootstrap = Napi::Object::New(env);
    bootstrap.Set("resamples", static_cast<double>(result_.bootstrap.resamples));
    bootstrap.Set("seed", static_cast<double>(result_.bootstrap.seed));
    bootstrap.Set("confidence", result_.bootstrap.confidence);
    o.Set("bootstrap", bootstrap);
    Napi::Array perClass = Napi::Array::New(env, result_.aucPerClass.size());
    for (size_t i = 0; i < result_.aucPerClass.size(); ++i) {
      const analysis::ClassAuc& c = result_.aucPerClass[i];
      Napi::Object entry = Napi::Object::New(env);
      entry.Set("classIndex", static_cast<double>(c.classIndex));
      entry.Set("positives", static_cast<double>(c.positives));
      entry.Set("negatives", static_cast<double>(c.negatives));
      entry.Set("included", c.included);
      entry.Set("reason", c.reason.empty() ? env.Null() : Napi::String::New(env, c.reason));
      entry.Set("auc", toJs(env, c.auc));
      perClass.Set(static_cast<uint32_t>(i), entry);
    }
    o.Set("aucPerClass", perClass);
    o.Set("aucMacro", toJs(env, result_.aucMacro));
    o.Set("f1", toJs(env, result_.f1));
    o.Set("f1Positive", toJs(env, result_.f1Positive));
    o.Set("accuracy", toJs(env, result_.accuracy));
    return o;
  }

 private:
  at::Tensor probabilities_;
  at::Tensor labels_;
  analysis::Task task_;
  analysis::BootstrapOptions options_;
  analysis::ClassificationMetrics result_;
};

class KsTask : public PromiseWorker {
 public:
  KsTask(Napi::Env env, at::Tensor a, at::Tensor b, bool probabilities, analysis::KsMethod method)
      : PromiseWorker(env), a_(std::move(a)), b_(std::move(b)), probabilities_(probabilities), method_(method) {}

 protected:
  void run() override { results_ = analysis::ksPerColumn(a_, b_, probabilities_, method_); }
  Napi::Value result(Napi::Env env) override {
    Napi::Array columns = Napi::Array::New(env, results_.size());
    for (size_t i = 0; i < results_.size(); ++i) {
      Napi::Object r = Napi::Object::New(env);
      r.Set("statistic", results_[i].statistic);
      r.Set("pvalue", results_[i].pvalue);
      r.Set("n1", static_cast<double>(results_[i].n1));
      r.Set("n2", static_cast<double>(results_[i].n2));
      r.Set("effectiveN", static_cast<double>(results_[i].effectiveN));
      r.Set("method", analysis::ksMethodName(results_[i].method));
      columns.Set(static_cast<uint32_t>(i), r);
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("columns", columns);
    return o;
  }

 private:
  at::Tensor a_;
  at::Tensor b_;
  bool probabilities_;
  analysis::KsMethod method_;
  std::vector<analysis::KsResult> results_;
};

struct CkaRequest {
  analysis::KernelOptions kernel;
  bool full = true;
  int64_t sets = 0;  // 0: no bootstrap
  int64_t setSize = 0;
  uint64_t seed = 0;
};

class CkaTask : public PromiseWorker {
 public:
  CkaTask(Napi::Env env, at::Tensor x, at::Tensor y, CkaRequest request)
      : PromiseWorker(env), x_(std::move(x)), y_(std::move(y)), request_(request) {}

 protected:
  void run() override {
    if (request_.full) full_ = analysis::cka(x_, y_, request_.kernel);
    if (request_.sets > 0) bootstrap_ = analysis::ckaBootstrap(x_, y_, request_.kernel, request_.sets, request_.setSize, request_.seed);
  }
  Napi::Value result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    if (full_) {
      Napi::Object f = Napi::Object::New(env);
      f.Set("cka", full_->cka);
      f.Set("sigmaX", numberOrNull(env, full_->sigmaX));
      f.Set("sigmaY", numberOrNull(env, full_->sigmaY));
      o.Set("full", f);
    } else {
      o.Set("full", env.Null());
    }
    if (bootstrap_) {
      Napi::Object b = Napi::Object::New(env);
      b.Set("mean", bootstrap_->mean);
      b.Set("std", bootstrap_->std);
      b.Set("sets", static_cast<double>(bootstrap_->sets));
      b.Set("setSize", static_cast<double>(bootstrap_->setSize));
      b.Set("seed", static_cast<double>(bootstrap_->seed));
      Napi::Array values = Napi::Array::New(env, bootstrap_->values.size());
      for (size_t i = 0; i < bootstrap_->values.size(); ++i) values.Set(static_cast<uint32_t>(i), bootstrap_->values[i]);
      b.Set("values", values);
      o.Set("bootstrap", b);
    } else {
      o.Set("bootstrap", env.Null());
    }
    return o;
  }

 private:
  at::Tensor x_;
  at::Tensor y_;
  CkaRequest request_;
  std::optional<analysis::CkaValue> full_;
  std::optional<analysis::CkaBootstrap> bootstrap_;
};

class AlignTask : public PromiseWorker {
 public:
  AlignTask(Napi::Env env, at::Tensor idsA, at::Tensor idsB, std::vector<at::Tensor> tensors)
      : PromiseWorker(env), idsA_(std::move(idsA)), idsB_(std::move(idsB)), tensors_(std::move(tensors)) {}

 protected:
  void run() override {
    const analysis::Alignment alignment = analysis::alignByIds(idsA_, idsB_);
    aligned_ = analysis::selectRows(tensors_, alignment.rowsB);
  }
  Napi::Value result(Napi::Env env) override {
    Napi::Array out = Napi::Array::New(env, aligned_.size());
    for (size_t i = 0; i < aligned_.size(); ++i) out.Set(static_cast<uint32_t>(i), TensorWrap::wrap(env, aligned_[i]));
    return out;
  }

 private:
  at::Tensor idsA_;
  at::Tensor idsB_;
  std::vector<at::Tensor> tensors_;
  std::vector<at::Tensor> aligned_;
};

analysis::Task taskOption(Napi::Env env, const Napi::Object& options) {
  const std::string text = stringOption(options, "task", "");
  const std::optional<analysis::Task> task = analysis::taskFromName(text);
  if (!task) throwInvalidArg(env, "expected options.task to be 'multiclass', 'binary' or 'multilabel' but received '" + text + "'");
  return *task;
}

class RocTask : public PromiseWorker {
 public:
  RocTask(Napi::Env env, at::Tensor probabilities, at::Tensor labels, analysis::Task task, int64_t maxPoints)
      : PromiseWorker(env), probabilities_(std::move(probabilities)), labels_(std::move(labels)), task_(task), maxPoints_(maxPoints) {}

 protected:
  void run() override { points_ = analysis::rocCurve(probabilities_, labels_, task_, maxPoints_); }
  Napi::Value result(Napi::Env env) override {
    auto array = [&](const std::vector<double>& v) {
      Napi::Float64Array a = Napi::Float64Array::New(env, v.size());
      std::copy(v.begin(), v.end(), a.Data());
      return a;
    };
    Napi::Object o = Napi::Object::New(env);
    o.Set("fpr", array(points_.fpr));
    o.Set("tpr", array(points_.tpr));
    o.Set("of", points_.of);
    return o;
  }

 private:
  at::Tensor probabilities_;
  at::Tensor labels_;
  analysis::Task task_;
  int64_t maxPoints_;
  analysis::RocPoints points_;
};

}  // namespace

Napi::Value analysisMetrics(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    at::Tensor probabilities = TensorWrap::unwrap(env, args[0], "probabilities");
    at::Tensor labels = TensorWrap::unwrap(env, args[1], "labels");
    Napi::Object options = optionsArg(args, 2);
    const analysis::Task task = taskOption(env, options);
    analysis::BootstrapOptions bootstrap;
    bootstrap.resamples = integerOption(options, "resamples", bootstrap.resamples);
    bootstrap.seed = static_cast<uint64_t>(integerOption(options, "seed", 0));
    bootstrap.confidence = optionalNumber(options, "confidence").value_or(bootstrap.confidence);
    return startWorker(new MetricsTask(env, probabilities, labels, task, bootstrap));
  });
}

Napi::Value analysisKs(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    at::Tensor a = TensorWrap::unwrap(env, args[0], "a");
    at::Tensor b = TensorWrap::unwrap(env, args[1], "b");
    Napi::Object options = optionsArg(args, 2);
    const bool probabilities = options.Get("probabilities").ToBoolean().Value();
    const std::string methodText = stringOption(options, "method", "asymp");
    analysis::KsMethod method = analysis::KsMethod::kAsymp;
    if (methodText == "exact") method = analysis::KsMethod::kExact;
    else if (methodText == "auto") method = analysis::KsMethod::kAuto;
    else if (methodText != "asymp") throwInvalidArg(env, "expected options.method to be 'asymp', 'exact' or 'auto' but received '" + methodText + "'");
    return startWorker(new KsTask(env, a, b, probabilities, method));
  });
}

Napi::Value analysisCka(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    at::Tensor x = TensorWrap::unwrap(env, args[0], "x");
    at::Tensor y = TensorWrap::unwrap(env, args[1], "y");
    Napi::Object options = optionsArg(args, 2);
    CkaRequest request;
    const std::string kernelText = stringOption(options, "kernel", "linear");
    const std::optional<analysis::Kernel> kernel = analysis::kernelFromName(kernelText);
    if (!kernel) throwInvalidArg(env, "expected options.kernel to be 'linear' or 'rbf' but received '" + kernelText + "'");
    request.kernel.kernel = *kernel;
    request.kernel.sigma = optionalNumber(options, "sigma");
    request.kernel.sigmaMedianFraction = optionalNumber(options, "sigmaMedianFraction").value_or(1.0);
    Napi::Value full = options.Get("full");
    request.full = full.IsUndefined() ? true : full.ToBoolean().Value();
    request.sets = integerOption(options, "sets", 0);
    request.setSize = integerOption(options, "setSize", 0);
    request.seed = static_cast<uint64_t>(integerOption(options, "seed", 0));
    return startWorker(new CkaTask(env, x, y, request));
  });
}

Napi::Value analysisAlign(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    at::Tensor idsA = TensorWrap::unwrap(env, args[0], "idsA");
    at::Tensor idsB = TensorWrap::unwrap(env, args[1], "idsB");
    if (args.Length() < 3 || !args[2].IsArray()) throwInvalidArg(env, "expected analysisAlign(idsA, idsB, tensors: Tensor[])");
    Napi::Array list = args[2].As<Napi::Array>();
    std::vector<at::Tensor> tensors;
    for (uint32_t i = 0; i < list.Length(); ++i) tensors.push_back(TensorWrap::unwrap(env, list.Get(i), "tensors[i]"));
    return startWorker(new AlignTask(env, idsA, idsB, std::move(tensors)));
  });
}

}  // namespace imlm::bridge

namespace imlm::bridge {

Napi::Value analysisRocCurve(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    at::Tensor probabilities = TensorWrap::unwrap(env, args[0], "probabilities");
    at::Tensor labels = TensorWrap::unwrap(env, args[1], "labels");
    Napi::Object options = optionsArg(args, 2);
    const analysis::Task task = taskOption(env, options);
    return startWorker(new RocTask(env, probabilities, labels, task, integerOption(options, "maxPoints", 200)));
  });
}

}  // namespace imlm::bridge

#include "bridge/analysis_binding.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bridge/analysis_worker.h"
#include "bridge/error_conversion.h"
#include "bridge/tensor_wrap.h"
#include "core/analysis/align.h"
#include "core/analysis/cka.h"
#include "core/analysis/classification.h"
#include "core/analysis/ks.h"
#include "core/analysis/roc_curve.h"
#include "core/task.h"

namespace imlm::bridge {
namespace {

// ---- reading arguments ----

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

Task taskOption(Napi::Env env, const Napi::Object& options) {
  const std::string text = stringOption(options, "task", "");
  const std::optional<Task> task = taskFromName(text);
  if (!task) throwInvalidArg(env, "expected options.task to be 'multiclass', 'binary' or 'multilabel' but received '" + text + "'");
  return *task;
}

// ---- writing results ----

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

// ---- analysisMetrics(probabilities, labels, { task, resamples?, seed?, confidence? }) ----

struct MetricsRequest {
  at::Tensor probabilities;
  at::Tensor labels;
  Task task;
  analysis::BootstrapOptions bootstrap;
};

MetricsRequest readMetrics(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  MetricsRequest r;
  r.probabilities = TensorWrap::unwrap(env, args[0], "probabilities");
  r.labels = TensorWrap::unwrap(env, args[1], "labels");
  Napi::Object options = optionsArg(args, 2);
  r.task = taskOption(env, options);
  r.bootstrap.resamples = integerOption(options, "resamples", r.bootstrap.resamples);
  r.bootstrap.seed = static_cast<uint64_t>(integerOption(options, "seed", 0));
  r.bootstrap.confidence = optionalNumber(options, "confidence").value_or(r.bootstrap.confidence);
  return r;
}

analysis::ClassificationMetrics computeMetrics(const MetricsRequest& r) {
  return analysis::classificationMetrics(r.probabilities, r.labels, r.task, r.bootstrap);
}

Napi::Value writeMetrics(Napi::Env env, const analysis::ClassificationMetrics& m) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("task", taskName(m.task));
  o.Set("samples", static_cast<double>(m.samples));
  o.Set("classes", static_cast<double>(m.classes));
  Napi::Object bootstrap = Napi::Object::New(env);
  bootstrap.Set("resamples", static_cast<double>(m.bootstrap.resamples));
  bootstrap.Set("seed", static_cast<double>(m.bootstrap.seed));
  bootstrap.Set("confidence", m.bootstrap.confidence);
  o.Set("bootstrap", bootstrap);
  Napi::Array perClass = Napi::Array::New(env, m.aucPerClass.size());
  for (size_t i = 0; i < m.aucPerClass.size(); ++i) {
    const analysis::ClassAuc& c = m.aucPerClass[i];
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
  o.Set("aucMacro", toJs(env, m.aucMacro));
  o.Set("f1", toJs(env, m.f1));
  o.Set("f1Positive", toJs(env, m.f1Positive));
  o.Set("accuracy", toJs(env, m.accuracy));
  return o;
}

// ---- analysisKs(a [N1, K], b [N2, K], { probabilities?, method? }) → { columns } ----

struct KsRequest {
  at::Tensor a;
  at::Tensor b;
  bool probabilities;
  analysis::KsMethod method;
};

KsRequest readKs(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  KsRequest r;
  r.a = TensorWrap::unwrap(env, args[0], "a");
  r.b = TensorWrap::unwrap(env, args[1], "b");
  Napi::Object options = optionsArg(args, 2);
  r.probabilities = options.Get("probabilities").ToBoolean().Value();
  const std::string methodText = stringOption(options, "method", "asymp");
  r.method = analysis::KsMethod::kAsymp;
  if (methodText == "exact") r.method = analysis::KsMethod::kExact;
  else if (methodText == "auto") r.method = analysis::KsMethod::kAuto;
  else if (methodText != "asymp") throwInvalidArg(env, "expected options.method to be 'asymp', 'exact' or 'auto' but received '" + methodText + "'");
  return r;
}

std::vector<analysis::KsResult> computeKs(const KsRequest& r) { return analysis::ksPerColumn(r.a, r.b, r.probabilities, r.method); }

Napi::Value writeKs(Napi::Env env, const std::vector<analysis::KsResult>& results) {
  Napi::Array columns = Napi::Array::New(env, results.size());
  for (size_t i = 0; i < results.size(); ++i) {
    Napi::Object r = Napi::Object::New(env);
    r.Set("statistic", results[i].statistic);
    r.Set("pvalue", results[i].pvalue);
    r.Set("n1", static_cast<double>(results[i].n1));
    r.Set("n2", static_cast<double>(results[i].n2));
    r.Set("effectiveN", static_cast<double>(results[i].effectiveN));
    r.Set("method", analysis::ksMethodName(results[i].method));
    columns.Set(static_cast<uint32_t>(i), r);
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("columns", columns);
  return o;
}

// ---- analysisCka(x, y, { kernel, sigma?, sigmaMedianFraction?, full?, sets?, setSize?, seed? }) → { full, bootstrap } ----

struct CkaRequest {
  at::Tensor x;
  at::Tensor y;
  analysis::KernelOptions kernel;
  bool full = true;
  int64_t sets = 0;  // 0: no bootstrap
  int64_t setSize = 0;
  uint64_t seed = 0;
};

struct CkaResult {
  std::optional<analysis::CkaValue> full;
  std::optional<analysis::CkaBootstrap> bootstrap;
};

CkaRequest readCka(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  CkaRequest r;
  r.x = TensorWrap::unwrap(env, args[0], "x");
  r.y = TensorWrap::unwrap(env, args[1], "y");
  Napi::Object options = optionsArg(args, 2);
  const std::string kernelText = stringOption(options, "kernel", "linear");
  const std::optional<analysis::Kernel> kernel = analysis::kernelFromName(kernelText);
  if (!kernel) throwInvalidArg(env, "expected options.kernel to be 'linear' or 'rbf' but received '" + kernelText + "'");
  r.kernel.kernel = *kernel;
  r.kernel.sigma = optionalNumber(options, "sigma");
  r.kernel.sigmaMedianFraction = optionalNumber(options, "sigmaMedianFraction").value_or(1.0);
  Napi::Value full = options.Get("full");
  r.full = full.IsUndefined() ? true : full.ToBoolean().Value();
  r.sets = integerOption(options, "sets", 0);
  r.setSize = integerOption(options, "setSize", 0);
  r.seed = static_cast<uint64_t>(integerOption(options, "seed", 0));
  return r;
}

CkaResult computeCka(const CkaRequest& r) {
  CkaResult out;
  if (r.full) out.full = analysis::cka(r.x, r.y, r.kernel);
  if (r.sets > 0) out.bootstrap = analysis::ckaBootstrap(r.x, r.y, r.kernel, r.sets, r.setSize, r.seed);
  return out;
}

Napi::Value writeCka(Napi::Env env, const CkaResult& r) {
  Napi::Object o = Napi::Object::New(env);
  if (r.full) {
    Napi::Object f = Napi::Object::New(env);
    f.Set("cka", r.full->cka);
    f.Set("sigmaX", numberOrNull(env, r.full->sigmaX));
    f.Set("sigmaY", numberOrNull(env, r.full->sigmaY));
    o.Set("full", f);
  } else {
    o.Set("full", env.Null());
  }
  if (r.bootstrap) {
    Napi::Object b = Napi::Object::New(env);
    b.Set("mean", r.bootstrap->mean);
    b.Set("std", r.bootstrap->std);
    b.Set("sets", static_cast<double>(r.bootstrap->sets));
    b.Set("setSize", static_cast<double>(r.bootstrap->setSize));
    b.Set("seed", static_cast<double>(r.bootstrap->seed));
    Napi::Array values = Napi::Array::New(env, r.bootstrap->values.size());
    for (size_t i = 0; i < r.bootstrap->values.size(); ++i) values.Set(static_cast<uint32_t>(i), r.bootstrap->values[i]);
    b.Set("values", values);
    o.Set("bootstrap", b);
  } else {
    o.Set("bootstrap", env.Null());
  }
  return o;
}

// ---- analysisAlign(idsA, idsB, tensorsB[]) → Tensor[]: tensorsB's rows in the order of idsA ----

struct AlignRequest {
  at::Tensor idsA;
  at::Tensor idsB;
  std::vector<at::Tensor> tensors;
};

AlignRequest readAlign(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  AlignRequest r;
  r.idsA = TensorWrap::unwrap(env, args[0], "idsA");
  r.idsB = TensorWrap::unwrap(env, args[1], "idsB");
  if (args.Length() < 3 || !args[2].IsArray()) throwInvalidArg(env, "expected analysisAlign(idsA, idsB, tensors: Tensor[])");
  Napi::Array list = args[2].As<Napi::Array>();
  for (uint32_t i = 0; i < list.Length(); ++i) r.tensors.push_back(TensorWrap::unwrap(env, list.Get(i), "tensors[i]"));
  return r;
}

std::vector<at::Tensor> computeAlign(const AlignRequest& r) {
  return analysis::selectRows(r.tensors, analysis::alignByIds(r.idsA, r.idsB).rowsB);
}

Napi::Value writeAlign(Napi::Env env, const std::vector<at::Tensor>& aligned) {
  Napi::Array out = Napi::Array::New(env, aligned.size());
  for (size_t i = 0; i < aligned.size(); ++i) out.Set(static_cast<uint32_t>(i), TensorWrap::wrap(env, aligned[i]));
  return out;
}

// ---- analysisRocCurve(probabilities [N, K], labels, { task, maxPoints? }) → { fpr, tpr: Float64Array, of } ----

struct RocRequest {
  at::Tensor probabilities;
  at::Tensor labels;
  Task task;
  int64_t maxPoints;
};

RocRequest readRocCurve(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  RocRequest r;
  r.probabilities = TensorWrap::unwrap(env, args[0], "probabilities");
  r.labels = TensorWrap::unwrap(env, args[1], "labels");
  Napi::Object options = optionsArg(args, 2);
  r.task = taskOption(env, options);
  r.maxPoints = integerOption(options, "maxPoints", 200);
  return r;
}

analysis::RocPoints computeRocCurve(const RocRequest& r) { return analysis::rocCurve(r.probabilities, r.labels, r.task, r.maxPoints); }

Napi::Value writeRocCurve(Napi::Env env, const analysis::RocPoints& points) {
  auto array = [&](const std::vector<double>& v) {
    Napi::Float64Array a = Napi::Float64Array::New(env, v.size());
    std::copy(v.begin(), v.end(), a.Data());
    return a;
  };
  Napi::Object o = Napi::Object::New(env);
  o.Set("fpr", array(points.fpr));
  o.Set("tpr", array(points.tpr));
  o.Set("of", points.of);
  return o;
}

// ---- the table: exported name → reader → core call → writer ----

const AnalysisFunction kAnalysisFunctions[] = {
    {"analysisMetrics", startAnalysis<readMetrics, computeMetrics, writeMetrics>},
    {"analysisKs", startAnalysis<readKs, computeKs, writeKs>},
    {"analysisCka", startAnalysis<readCka, computeCka, writeCka>},
    {"analysisAlign", startAnalysis<readAlign, computeAlign, writeAlign>},
    {"analysisRocCurve", startAnalysis<readRocCurve, computeRocCurve, writeRocCurve>},
};

}  // namespace

void registerAnalysis(Napi::Env env, Napi::Object exports) {
  for (const AnalysisFunction& f : kAnalysisFunctions) exports.Set(f.name, Napi::Function::New(env, f.start, f.name));
}

}  // namespace imlm::bridge

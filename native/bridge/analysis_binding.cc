#include "bridge/analysis_binding.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bridge/analysis_worker.h"
#include "bridge/error_conversion.h"
#include "bridge/js_args.h"
#include "bridge/tensor_wrap.h"
#include "core/analysis/align.h"
#include "core/analysis/cka.h"
#include "core/analysis/classification.h"
#include "core/analysis/knn.h"
#include "core/analysis/ks.h"
#include "core/analysis/paired_bootstrap.h"
#include "core/analysis/roc_curve.h"
#include "core/task.h"

namespace imlm::bridge {
namespace {

// ---- reading arguments ----

// Options are required and resolved by TypeScript (lib/analysis/<metric>.ts); read with the
// bridge's one toolkit (bridge/js_args.h).

Task taskField(const JsObject& options) {
  return options.choice<Task>("task", {{"multiclass", Task::kMulticlass}, {"binary", Task::kBinary}, {"multilabel", Task::kMultilabel}});
}

constexpr int64_t kMaxSafeInteger = 9007199254740991;

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
  JsArgs in(args);
  MetricsRequest r;
  r.probabilities = in.tensor(0, "probabilities");
  r.labels = in.tensor(1, "labels");
  const JsObject options = in.object(2, "options");
  r.task = taskField(options);
  r.bootstrap.resamples = options.integer("resamples", 0, kMaxSafeInteger);
  r.bootstrap.seed = static_cast<uint64_t>(options.integer("seed", 0, kMaxSafeInteger));
  r.bootstrap.confidence = options.number("confidence");
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

// ---- analysisCompare([a…], [b…], labels, { task, resamples, seed, confidence, keepResampleCounts }) ----

struct CompareRequest {
  std::vector<at::Tensor> a;
  std::vector<at::Tensor> b;
  at::Tensor labels;
  Task task;
  analysis::BootstrapOptions bootstrap;
  bool keepResampleCounts;
};

std::vector<at::Tensor> tensorList(const JsValue& value) {
  std::vector<at::Tensor> out;
  for (const JsValue& item : value.items()) out.push_back(item.tensor());
  return out;
}

CompareRequest readCompare(const Napi::CallbackInfo& args) {
  JsArgs in(args);
  CompareRequest r;
  r.a = tensorList(in.at(0, "a"));
  r.b = tensorList(in.at(1, "b"));
  r.labels = in.tensor(2, "labels");
  const JsObject options = in.object(3, "options");
  r.task = taskField(options);
  r.bootstrap.resamples = options.integer("resamples", 0, kMaxSafeInteger);
  r.bootstrap.seed = static_cast<uint64_t>(options.integer("seed", 0, kMaxSafeInteger));
  r.bootstrap.confidence = options.number("confidence");
  r.keepResampleCounts = options.boolean("keepResampleCounts");
  return r;
}

analysis::PairedComparison computeCompare(const CompareRequest& r) {
  return analysis::pairedComparison(r.a, r.b, r.labels, r.task, r.bootstrap, r.keepResampleCounts);
}

Napi::Array numbersOrNulls(Napi::Env env, const std::vector<std::optional<double>>& values) {
  Napi::Array out = Napi::Array::New(env, values.size());
  for (size_t i = 0; i < values.size(); ++i) out.Set(static_cast<uint32_t>(i), numberOrNull(env, values[i]));
  return out;
}

Napi::Object toJs(Napi::Env env, const analysis::PairedDifference& d) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("difference", numberOrNull(env, d.difference));
  o.Set("reason", d.reason.empty() ? env.Null() : Napi::String::New(env, d.reason));
  o.Set("a", numbersOrNulls(env, d.a));
  o.Set("b", numbersOrNulls(env, d.b));
  if (d.ci) {
    Napi::Object ci = Napi::Object::New(env);
    ci.Set("low", d.ci->low);
    ci.Set("high", d.ci->high);
    ci.Set("confidence", d.ci->confidence);
    o.Set("ci", ci);
  } else {
    o.Set("ci", env.Null());
  }
  o.Set("resamplesUsed", static_cast<double>(d.resamplesUsed));
  return o;
}

Napi::Value writeCompare(Napi::Env env, const analysis::PairedComparison& c) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("task", taskName(c.task));
  o.Set("samples", static_cast<double>(c.samples));
  o.Set("classes", static_cast<double>(c.classes));
  o.Set("pairs", static_cast<double>(c.pairs));
  Napi::Object bootstrap = Napi::Object::New(env);
  bootstrap.Set("resamples", static_cast<double>(c.bootstrap.resamples));
  bootstrap.Set("seed", static_cast<double>(c.bootstrap.seed));
  bootstrap.Set("confidence", c.bootstrap.confidence);
  o.Set("bootstrap", bootstrap);
  o.Set("aucMacro", toJs(env, c.aucMacro));
  o.Set("f1", toJs(env, c.f1));
  o.Set("accuracy", toJs(env, c.accuracy));
  o.Set("resampleCounts", c.resampleCounts.defined() ? Napi::Value(TensorWrap::wrap(env, c.resampleCounts)) : env.Null());
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
  JsArgs in(args);
  KsRequest r;
  r.a = in.tensor(0, "a");
  r.b = in.tensor(1, "b");
  const JsObject options = in.object(2, "options");
  r.probabilities = options.boolean("probabilities");
  r.method = options.choice<analysis::KsMethod>(
      "method", {{"asymp", analysis::KsMethod::kAsymp}, {"exact", analysis::KsMethod::kExact}, {"auto", analysis::KsMethod::kAuto}});
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
  JsArgs in(args);
  CkaRequest r;
  r.x = in.tensor(0, "x");
  r.y = in.tensor(1, "y");
  const JsObject options = in.object(2, "options");
  r.kernel.kernel = options.choice<analysis::Kernel>("kernel", {{"linear", analysis::Kernel::kLinear}, {"rbf", analysis::Kernel::kRbf}});
  // The RBF width: an absolute sigma, or a fraction of the median distance (one of the two).
  const JsValue sigma = options.optional("sigma");
  if (sigma.given()) r.kernel.sigma = sigma.positiveNumber();
  const JsValue fraction = options.optional("sigmaMedianFraction");
  if (fraction.given()) r.kernel.sigmaMedianFraction = fraction.positiveNumber();
  if (r.kernel.kernel == analysis::Kernel::kRbf && !sigma.given() && !fraction.given()) {
    throwExpected(args.Env(), "options.sigma or options.sigmaMedianFraction", "given for the RBF kernel", args.Env().Undefined());
  }
  r.full = options.boolean("full");
  r.sets = options.integer("sets", 0, kMaxSafeInteger);
  r.setSize = options.integer("setSize", 0, kMaxSafeInteger);
  r.seed = static_cast<uint64_t>(options.integer("seed", 0, kMaxSafeInteger));
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
  AlignRequest r;
  JsArgs in(args);
  r.idsA = in.tensor(0, "idsA");
  r.idsB = in.tensor(1, "idsB");
  for (const JsValue& item : in.at(2, "tensors").items()) r.tensors.push_back(item.tensor());
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
  JsArgs in(args);
  RocRequest r;
  r.probabilities = in.tensor(0, "probabilities");
  r.labels = in.tensor(1, "labels");
  const JsObject options = in.object(2, "options");
  r.task = taskField(options);
  r.maxPoints = options.integer("maxPoints", 2, kMaxSafeInteger);
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

// ---- analysisKnn(bank [N, F], bankLabels, query [M, F], queryLabels, { k, temperature, classes, queryBatch }) → { top1, top5, queries } ----

struct KnnRequest {
  at::Tensor bank;
  at::Tensor bankLabels;
  at::Tensor query;
  at::Tensor queryLabels;
  analysis::KnnOptions options;
};

KnnRequest readKnn(const Napi::CallbackInfo& args) {
  JsArgs in(args);
  KnnRequest r;
  r.bank = in.tensor(0, "bank");
  r.bankLabels = in.tensor(1, "bankLabels");
  r.query = in.tensor(2, "query");
  r.queryLabels = in.tensor(3, "queryLabels");
  const JsObject options = in.object(4, "options");
  r.options.k = options.integer("k", 1, kMaxSafeInteger);
  r.options.temperature = options.positiveNumber("temperature");
  r.options.classes = options.integer("classes", 1, kMaxSafeInteger);
  r.options.queryBatch = options.integer("queryBatch", 1, kMaxSafeInteger);
  return r;
}

analysis::KnnResult computeKnn(const KnnRequest& r) { return analysis::knnClassify(r.bank, r.bankLabels, r.query, r.queryLabels, r.options); }

Napi::Value writeKnn(Napi::Env env, const analysis::KnnResult& result) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("top1", result.top1);
  o.Set("top5", result.top5);
  o.Set("queries", static_cast<double>(result.queries));
  return o;
}

// ---- the table: exported name → reader → core call → writer ----

const AnalysisFunction kAnalysisFunctions[] = {
    {"analysisMetrics", startAnalysis<readMetrics, computeMetrics, writeMetrics>},
    {"analysisKs", startAnalysis<readKs, computeKs, writeKs>},
    {"analysisCka", startAnalysis<readCka, computeCka, writeCka>},
    {"analysisAlign", startAnalysis<readAlign, computeAlign, writeAlign>},
    {"analysisRocCurve", startAnalysis<readRocCurve, computeRocCurve, writeRocCurve>},
    {"analysisKnn", startAnalysis<readKnn, computeKnn, writeKnn>},
    {"analysisCompare", startAnalysis<readCompare, computeCompare, writeCompare>},
};

}  // namespace

void registerAnalysis(Napi::Env env, Napi::Object exports) {
  for (const AnalysisFunction& f : kAnalysisFunctions) exports.Set(f.name, Napi::Function::New(env, f.start, f.name));
}

}  // namespace imlm::bridge

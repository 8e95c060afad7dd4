#include "core/analysis/classification.h"

#include <string>

#include "core/analysis/classification_rows.h"
#include "core/analysis/sampling.h"
#include "core/errors.h"

namespace imlm::analysis {
namespace {

std::string rowCount(int64_t n) { return std::to_string(n) + (n == 1 ? " row" : " rows"); }

void summarise(Estimate& e, const std::vector<double>& values, double confidence) {
  e.resamplesUsed = static_cast<int64_t>(values.size());
  if (values.empty()) return;
  e.ci = percentileInterval(values, confidence);
  e.paper = paperInterval(values);
}

}  // namespace

ClassificationMetrics classificationMetrics(const at::Tensor& probabilities, const at::Tensor& labels, Task task,
                                            const BootstrapOptions& options) {
  if (options.resamples < 0) throw Error(ErrorCode::kInvalidArgument, "expected resamples ≥ 0 but received " + std::to_string(options.resamples));
  if (!(options.confidence > 0 && options.confidence < 1)) {
    throw Error(ErrorCode::kInvalidArgument, "expected a confidence level in (0, 1) but received " + std::to_string(options.confidence));
  }
  PreparedRows p = prepareRows(probabilities, labels, task);
  ClassificationMetrics out;
  out.task = task;
  out.samples = p.n;
  out.classes = p.k;
  out.bootstrap = options;

  const size_t aucCount = p.aucClasses.size();
  for (size_t c = 0; c < aucCount; ++c) {
    ClassAuc entry;
    entry.classIndex = p.aucClasses[c];
    for (uint8_t t : p.targets[c]) (t ? entry.positives : entry.negatives) += 1;
    entry.included = p.included[c];
    if (!entry.included) {
      entry.reason = entry.positives == 0 ? "no positive labels (0 of " + rowCount(p.n) + "): ROC AUC is undefined"
                                          : "no negative labels (all " + rowCount(p.n) + " positive): ROC AUC is undefined";
      entry.auc.reason = entry.reason;
    }
    out.aucPerClass.push_back(std::move(entry));
  }

  const RowValues full = evaluateRows(p, nullptr);
  for (size_t c = 0; c < aucCount; ++c) out.aucPerClass[c].auc.value = full.auc[c];
  out.aucMacro.value = full.aucMacro;
  if (!full.aucMacro) out.aucMacro.reason = "no class has both positive and negative labels";
  out.f1.value = full.f1;
  out.accuracy.value = full.accuracy;
  if (task == Task::kBinary) out.f1Positive.value = full.f1Positive;
  else out.f1Positive.reason = "defined for binary tasks only";

  std::vector<std::vector<double>> aucValues(aucCount);
  std::vector<double> macroValues, pooledValues, f1Values, f1PositiveValues, accuracyValues;
  SampleRng rng(options.seed);
  for (int64_t b = 0; b < options.resamples; ++b) {
    const std::vector<int64_t> counts = rng.resampleCounts(p.n);
    const RowValues v = evaluateRows(p, counts.data());
    for (size_t c = 0; c < aucCount; ++c) {
      if (!p.included[c] || !v.auc[c]) continue;
      aucValues[c].push_back(*v.auc[c]);
      pooledValues.push_back(*v.auc[c]);
    }
    if (v.aucMacro) macroValues.push_back(*v.aucMacro);
    f1Values.push_back(v.f1);
    accuracyValues.push_back(v.accuracy);
    if (task == Task::kBinary) f1PositiveValues.push_back(v.f1Positive);
  }
  for (size_t c = 0; c < aucCount; ++c) summarise(out.aucPerClass[c].auc, aucValues[c], options.confidence);
  summarise(out.aucMacro, macroValues, options.confidence);
  // The reference's NIH interval: mean and std over the flattened resamples × classes array.
  if (!pooledValues.empty() && task != Task::kBinary) out.aucMacro.paper = paperInterval(pooledValues);
  summarise(out.f1, f1Values, options.confidence);
  summarise(out.accuracy, accuracyValues, options.confidence);
  if (task == Task::kBinary) summarise(out.f1Positive, f1PositiveValues, options.confidence);
  return out;
}

std::optional<double> macroRocAuc(const at::Tensor& probabilities, const at::Tensor& labels, Task task) {
  BootstrapOptions none;
  none.resamples = 0;
  return classificationMetrics(probabilities, labels, task, none).aucMacro.value;
}

}  // namespace imlm::analysis

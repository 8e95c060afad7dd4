// Classification metrics of a model's output probabilities against labels, each with a seeded
// percentile bootstrap interval and, for comparison, the paper's interval (docs/method.md, metrics and Q11):
// ROC AUC per class and macro, F1 (macro over classes; binary also the positive class's) and
// accuracy. A class whose AUC is undefined (one label value only) is excluded with a reason,
// never turned into NaN.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "core/analysis/summary.h"
#include "core/task.h"

namespace imlm::analysis {

struct BootstrapOptions {
  int64_t resamples = 1000;  // 0: no intervals
  uint64_t seed = 0;
  double confidence = 0.95;
};

/** One metric: its value on all rows and its bootstrap summaries. */
struct Estimate {
  std::optional<double> value;  // nullopt: undefined; `reason` says why
  std::string reason;
  std::optional<PercentileInterval> ci;  // nullopt when no resample gave a value (or resamples = 0)
  std::optional<PaperInterval> paper;
  int64_t resamplesUsed = 0;  // resamples in which the metric was defined
};

struct ClassAuc {
  int64_t classIndex = 0;
  int64_t positives = 0;
  int64_t negatives = 0;
  bool included = false;  // false: excluded from the macro mean, `reason` says why
  std::string reason;
  Estimate auc;
};

struct ClassificationMetrics {
  Task task = Task::kMulticlass;
  int64_t samples = 0;
  int64_t classes = 0;
  /** Binary: the positive class only; otherwise every class (one-vs-rest on its column). */
  std::vector<ClassAuc> aucPerClass;
  /**
   * Mean of the included classes' AUCs. In each resample, the mean over the included classes
   * defined in it. Its paper interval pools resamples × classes, as the reference does for NIH.
   */
  Estimate aucMacro;
  /** Macro F1: multiclass/binary over the classes present in labels or predictions (as
   *  scikit-learn's average='macro'), multilabel over all K; an undefined class F1 counts 0. */
  Estimate f1;
  /** Binary only: F1 of the positive class (scikit-learn's average='binary'). */
  Estimate f1Positive;
  /** Fraction of rows predicted right; multilabel: all K labels right (subset accuracy). */
  Estimate accuracy;
  BootstrapOptions bootstrap;
};

/**
 * probabilities: floating [N, K], finite, in [0, 1]; labels as `task` says. Throws kNonFinite for
 * NaN/Inf, kInvalidArgument for values outside [0, 1], bad labels or shapes.
 */
ClassificationMetrics classificationMetrics(const at::Tensor& probabilities, const at::Tensor& labels, Task task,
                                            const BootstrapOptions& options);

/**
 * Just the macro ROC AUC (no bootstrap), e.g. for choosing a checkpoint on validation data: the
 * mean over the classes with both label values; nullopt when no class has both. Same checks
 * and exceptions as classificationMetrics.
 */
std::optional<double> macroRocAuc(const at::Tensor& probabilities, const at::Tensor& labels, Task task);

}  // namespace imlm::analysis

// The difference between two models' metrics on the same test rows, with a paired percentile
// bootstrap interval: every resample draws the rows once and scores both models on them, so the
// interval reflects how much the *difference* varies with the test sample — narrower than two
// separate intervals whenever the models err on the same rows. Several pairs (e.g. one per seed
// of the experiment, all on the same test rows) are pooled: the difference is the mean over the
// pairs, and each resample's rows are shared by all of them (docs/evaluation.md, "Paired
// comparisons").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "core/analysis/classification.h"
#include "core/analysis/summary.h"
#include "core/task.h"

namespace imlm::analysis {

/** One metric's difference A − B. */
struct PairedDifference {
  /** Mean over the pairs of metric(A) − metric(B) on all rows; nullopt when undefined (`reason`). */
  std::optional<double> difference;
  std::string reason;
  /** Each pair's metric on all rows. */
  std::vector<std::optional<double>> a;
  std::vector<std::optional<double>> b;
  /** Percentile interval of the resampled differences (nullopt with 0 resamples or none defined). */
  std::optional<PercentileInterval> ci;
  /** Resamples in which the metric was defined for every model. */
  int64_t resamplesUsed = 0;
};

struct PairedComparison {
  Task task = Task::kMulticlass;
  int64_t samples = 0;
  int64_t classes = 0;
  int64_t pairs = 0;
  BootstrapOptions bootstrap;
  /** Macro ROC AUC over the classes with both label values among all rows (as classificationMetrics). */
  PairedDifference aucMacro;
  PairedDifference f1;
  PairedDifference accuracy;
  /** [resamples, samples] int64: each resample's row multiplicities, when asked for (tests, audits). */
  at::Tensor resampleCounts;
};

/**
 * a[s] and b[s]: probabilities [N, K] of models A and B for the same N rows (in the same order),
 * s = 0..pairs−1; labels as `task` says. Throws kInvalidArgument when the lists are empty or of
 * different lengths, or a shape differs, and what classificationMetrics throws for bad values.
 */
PairedComparison pairedComparison(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b, const at::Tensor& labels, Task task,
                                  const BootstrapOptions& options, bool keepResampleCounts);

}  // namespace imlm::analysis

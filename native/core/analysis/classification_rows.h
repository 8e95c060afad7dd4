// The rows of a classification output prepared once for many evaluations: each class's scores
// ranked, each row's true and predicted class (or bits). `evaluateRows` then computes ROC AUCs,
// F1 and accuracy with per-row integer weights, so a bootstrap resample (a vector of row
// multiplicities) costs no new sort. Shared by classificationMetrics (one output) and
// pairedComparison (outputs of two models on the same rows).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <ATen/core/Tensor.h>

#include "core/analysis/roc_auc.h"
#include "core/task.h"

namespace imlm::analysis {

struct PreparedRows {
  Task task = Task::kMulticlass;
  int64_t n = 0;
  int64_t k = 0;
  std::vector<int64_t> aucClasses;                // classes whose AUC is computed
  std::vector<std::vector<uint8_t>> targets;      // per AUC class: is row i positive
  std::vector<RankedScores> ranked;               // per AUC class
  std::vector<bool> included;                     // per AUC class: both label values occur among all rows
  std::vector<int64_t> label;                     // multiclass/binary: true class per row
  std::vector<int64_t> predicted;                 // multiclass/binary: predicted class per row
  std::vector<std::vector<uint8_t>> truthBits;    // multilabel: per class, per row
  std::vector<std::vector<uint8_t>> predictedBits;
};

/** The metrics of one weighting of the rows. */
struct RowValues {
  std::vector<std::optional<double>> auc;  // per AUC class
  std::optional<double> aucMacro;          // mean over the included classes defined in this weighting
  double f1 = 0;
  double f1Positive = 0;
  double accuracy = 0;
};

/**
 * Checks and prepares probabilities [N, K] (finite, in [0, 1]) and labels as `task` says.
 * Throws kNonFinite / kInvalidArgument naming the first bad value.
 */
PreparedRows prepareRows(const at::Tensor& probabilities, const at::Tensor& labels, Task task);

/** Metrics with per-row weights (bootstrap multiplicities), or 1 each when `weights` is null. */
RowValues evaluateRows(const PreparedRows& p, const int64_t* weights);

}  // namespace imlm::analysis

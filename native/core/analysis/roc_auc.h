// ROC AUC exactly as scikit-learn's roc_auc_score defines it for one binary target: the
// trapezoid area over the distinct score thresholds, which equals the Mann–Whitney statistic
// with tied scores counted one half. Rows can carry integer weights (bootstrap multiplicities),
// so a resample's AUC needs no new sort.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <ATen/core/Tensor.h>

namespace imlm::analysis {

/** One column of scores sorted ascending, cut into groups of equal scores. */
struct RankedScores {
  std::vector<int64_t> order;     // row indices by ascending score
  std::vector<int64_t> groupEnd;  // exclusive end, in `order`, of each group of equal scores
};

/** Sorts n scores (finite doubles) and finds the groups of ties. */
RankedScores rankScores(const double* scores, int64_t n);

/**
 * AUC of `positive` (0/1 per row) ranked by `ranked`; `weights` (per row, ≥ 0) or null for 1 each.
 * nullopt when the weighted rows hold only positives or only negatives (AUC undefined).
 */
std::optional<double> weightedAuc(const RankedScores& ranked, const uint8_t* positive, const int64_t* weights);

/**
 * roc_auc_score(labels, scores): scores [N] floating, labels [N] integer or bool 0/1.
 * Throws kInvalidArgument when only one label value is present (like scikit-learn), or when a
 * score is NaN or infinite.
 */
double rocAuc(const at::Tensor& scores, const at::Tensor& labels);

}  // namespace imlm::analysis

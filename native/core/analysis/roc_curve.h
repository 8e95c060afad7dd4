// ROC curve points for plots (the paper report): one point per distinct score threshold, as
// scikit-learn's roc_curve(drop_intermediate=False), thinned for drawing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "core/task.h"

namespace imlm::analysis {

struct RocPoints {
  std::vector<double> fpr;  // from 0 to 1, non-decreasing
  std::vector<double> tpr;
  std::string of;  // which scores: "class 1" (binary) or "micro-average" (multiclass, multilabel)
};

/**
 * The ROC curve of a model's probabilities: the positive class for binary tasks, the micro
 * average (every (sample, class) pair one-vs-rest) otherwise. Starts at (0, 0), ends at (1, 1);
 * at most `maxPoints` points (evenly spaced ones kept, the ends always), so a 25,000-row test set
 * still draws quickly. Throws kInvalidArgument when positives or negatives are missing.
 */
RocPoints rocCurve(const at::Tensor& probabilities, const at::Tensor& labels, Task task, int64_t maxPoints);

}  // namespace imlm::analysis

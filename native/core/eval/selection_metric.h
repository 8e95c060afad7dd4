// The validation metric that model selection maximises (fine-tuning checkpoints, the
// linear-probe sweep). Exact and deterministic: the AUC is core/analysis's (ties counted one
// half, as sklearn's roc_auc_score), in double precision.
#pragma once

#include <string>

#include <ATen/core/Tensor.h>

#include "core/task.h"

namespace imlm::eval {

/** Which validation metric chooses between models. */
enum class Metric {
  kAccuracy,  // share of arg-max predictions equal to the label (multiclass, binary)
  kAuc,       // binary: ROC AUC of column 1; multilabel: macro ROC AUC over the labels
};

/** Throws imlm::Error(kInvalidArgument) for names other than 'accuracy' and 'auc'. */
Metric metricFromName(const std::string& name);

/**
 * ROC AUC of `scores` (N, any float dtype) against `positive` (N, 0/1 of any dtype). NaN when
 * only one class is present.
 */
double rocAuc(const at::Tensor& scores, const at::Tensor& positive);

/**
 * Macro AUC of probabilities [N, L] against labels [N, L]: the mean of the per-label AUCs that
 * are defined (labels with a single class present are left out, as np.nanmean in the
 * reference); NaN if none is defined.
 */
double macroAuc(const at::Tensor& probabilities, const at::Tensor& labels);

/** Share of rows whose arg-max equals the label: probabilities [N, K], labels I64 [N]. */
double accuracy(const at::Tensor& probabilities, const at::Tensor& labels);

/**
 * The selection metric for a task. accuracy: multiclass/binary only; auc: binary (column 1 of
 * [N, 2]) or multilabel (macro). Throws kInvalidArgument on shape mismatches or accuracy for a
 * multilabel task.
 */
double selectionMetric(const at::Tensor& probabilities, const at::Tensor& labels, Task task, Metric metric);

}  // namespace imlm::eval

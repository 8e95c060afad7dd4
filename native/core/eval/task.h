// What a label set looks like (the store's manifest `task`) and which validation metric
// chooses between models. Plain enums with their names, parsed at the bridge.
#pragma once

#include <string>

namespace imlm::eval {

enum class Task {
  kMulticlass,  // labels I64 [N], softmax over K classes
  kBinary,      // labels I64 [N] in {0, 1}, softmax over K = 2 (positive class = column 1)
  kMultilabel,  // labels U8 [N, L], sigmoid per label
};

enum class Metric {
  kAccuracy,  // share of arg-max predictions equal to the label (multiclass, binary)
  kAuc,       // binary: ROC AUC of column 1; multilabel: macro ROC AUC over the labels
};

/** Throws imlm::Error(kInvalidArgument) for other names. */
Task taskFromName(const std::string& name);
Metric metricFromName(const std::string& name);
const char* taskName(Task task);

}  // namespace imlm::eval

// What a label set looks like: the store manifest's and the predictions file's `task`
// (docs/formats.md). One enum for evaluation (heads, fine-tuning, model selection) and analysis
// (metrics, ROC curves), so the two never convert between their own copies.
#pragma once

#include <optional>
#include <string_view>

namespace imlm {

enum class Task {
  kMulticlass,  // labels I64 [N] in 0..K−1; probabilities: softmax [N, K]; prediction: argmax
  kBinary,      // labels I64 [N] in {0, 1}; probabilities [N, 2], positive = column 1; prediction: p1 > 0.5
  kMultilabel,  // labels 0/1 [N, K]; probabilities: sigmoid per class [N, K]; prediction: p > 0.5
};

/** The task called `name`; nullopt for any other name (callers word their own error). */
std::optional<Task> taskFromName(std::string_view name);

/** As taskFromName, but throws imlm::Error(kInvalidArgument) naming the three for any other name. */
Task requireTask(std::string_view name);

/** "multiclass", "binary" or "multilabel". */
const char* taskName(Task task);

}  // namespace imlm

#include "core/eval/selection_metric.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <vector>

#include <ATen/Functions.h>

#include "core/analysis/roc_auc.h"
#include "core/errors.h"
#include "core/tensor_io.h"

namespace imlm::eval {

Metric metricFromName(const std::string& name) {
  if (name == "accuracy") return Metric::kAccuracy;
  if (name == "auc") return Metric::kAuc;
  throw Error(ErrorCode::kInvalidArgument, "expected metric 'accuracy' or 'auc' but received '" + name + "'");
}

double rocAuc(const at::Tensor& scores, const at::Tensor& positive) {
  if (scores.dim() != 1 || positive.dim() != 1 || scores.size(0) != positive.size(0)) {
    throw Error(ErrorCode::kInvalidArgument, "expected scores [N] and labels [N] but received " +
                                                 shapeString(scores.sizes()) + " and " + shapeString(positive.sizes()));
  }
  // One AUC implementation for the whole project: core/analysis (exact, ties counted ½).
  const at::Tensor s = scores.to(at::kCPU, at::kDouble).contiguous();
  const at::Tensor y = positive.to(at::kCPU).ne(0).to(at::kByte).contiguous();
  const analysis::RankedScores ranked = analysis::rankScores(s.data_ptr<double>(), s.size(0));
  const std::optional<double> auc = analysis::weightedAuc(ranked, y.data_ptr<uint8_t>(), nullptr);
  return auc ? *auc : std::numeric_limits<double>::quiet_NaN();
}

double macroAuc(const at::Tensor& probabilities, const at::Tensor& labels) {
  if (probabilities.dim() != 2 || !labels.sizes().equals(probabilities.sizes())) {
    throw Error(ErrorCode::kInvalidArgument, "expected probabilities [N, L] and labels [N, L] but received " +
                                                 shapeString(probabilities.sizes()) + " and " + shapeString(labels.sizes()));
  }
  double sum = 0;
  int64_t defined = 0;
  for (int64_t l = 0; l < probabilities.size(1); ++l) {
    const double auc = rocAuc(probabilities.select(1, l), labels.select(1, l));
    if (!std::isnan(auc)) {
      sum += auc;
      ++defined;
    }
  }
  return defined > 0 ? sum / static_cast<double>(defined) : std::numeric_limits<double>::quiet_NaN();
}

double accuracy(const at::Tensor& probabilities, const at::Tensor& labels) {
  if (probabilities.dim() != 2 || labels.dim() != 1 || labels.size(0) != probabilities.size(0)) {
    throw Error(ErrorCode::kInvalidArgument, "expected probabilities [N, K] and labels [N] but received " +
                                                 shapeString(probabilities.sizes()) + " and " + shapeString(labels.sizes()));
  }
  if (probabilities.size(0) == 0) return std::numeric_limits<double>::quiet_NaN();
  const at::Tensor predicted = probabilities.argmax(1).to(at::kCPU);
  return predicted.eq(labels.to(at::kCPU, at::kLong)).to(at::kDouble).mean().item<double>();
}

double selectionMetric(const at::Tensor& probabilities, const at::Tensor& labels, Task task, Metric metric) {
  if (task == Task::kMultilabel) {
    if (metric != Metric::kAuc) {
      throw Error(ErrorCode::kInvalidArgument, "a multilabel task is selected on macro AUC; accuracy is not defined for it");
    }
    return macroAuc(probabilities, labels);
  }
  if (metric == Metric::kAccuracy) return accuracy(probabilities, labels);
  if (task != Task::kBinary || probabilities.dim() != 2 || probabilities.size(1) != 2) {
    throw Error(ErrorCode::kInvalidArgument, "AUC for a single-label task needs a binary task (probabilities [N, 2]); use accuracy");
  }
  return rocAuc(probabilities.select(1, 1), labels);
}

}  // namespace imlm::eval

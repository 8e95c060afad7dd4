#include "core/analysis/roc_curve.h"

#include <algorithm>

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>

#include "core/analysis/roc_auc.h"
#include "core/errors.h"

namespace imlm::analysis {

RocPoints rocCurve(const at::Tensor& probabilities, const at::Tensor& labels, Task task, int64_t maxPoints) {
  if (probabilities.dim() != 2 || probabilities.size(0) != labels.size(0)) {
    throw Error(ErrorCode::kInvalidArgument, "rocCurve expects probabilities [N, K] and labels with N rows");
  }
  at::Tensor scores, positive;
  RocPoints out;
  if (task == Task::kBinary) {
    scores = probabilities.select(1, probabilities.size(1) - 1);
    positive = labels.reshape({-1}).ne(0);
    out.of = "class 1";
  } else {
    scores = probabilities.reshape({-1});
    positive = task == Task::kMultilabel
                   ? labels.ne(0).reshape({-1})
                   : at::one_hot(labels.to(at::kLong).reshape({-1}), probabilities.size(1)).ne(0).reshape({-1});
    out.of = "micro-average";
  }
  at::Tensor s = scores.to(at::kCPU, at::kDouble).contiguous();
  at::Tensor p = positive.to(at::kCPU, at::kByte).contiguous();
  const int64_t n = s.numel();
  const RankedScores ranked = rankScores(s.data_ptr<double>(), n);
  const uint8_t* isPositive = p.data_ptr<uint8_t>();
  int64_t positives = 0;
  for (int64_t i = 0; i < n; ++i) positives += isPositive[i];
  const int64_t negatives = n - positives;
  if (positives == 0 || negatives == 0) {
    throw Error(ErrorCode::kInvalidArgument, "an ROC curve needs both positive and negative labels");
  }
  // Walk thresholds from the highest score down: every group of equal scores moves the point.
  std::vector<double> fpr{0.0}, tpr{0.0};
  int64_t tp = 0, fp = 0;
  for (size_t g = ranked.groupEnd.size(); g-- > 0;) {
    const int64_t end = ranked.groupEnd[g];
    const int64_t begin = g == 0 ? 0 : ranked.groupEnd[g - 1];
    for (int64_t k = begin; k < end; ++k) (isPositive[ranked.order[static_cast<size_t>(k)]] ? tp : fp) += 1;
    fpr.push_back(static_cast<double>(fp) / static_cast<double>(negatives));
    tpr.push_back(static_cast<double>(tp) / static_cast<double>(positives));
  }
  const int64_t count = static_cast<int64_t>(fpr.size());
  const int64_t keep = std::max<int64_t>(2, maxPoints);
  if (count <= keep) {
    out.fpr = std::move(fpr);
    out.tpr = std::move(tpr);
    return out;
  }
  for (int64_t i = 0; i < keep; ++i) {
    const int64_t at = i * (count - 1) / (keep - 1);
    out.fpr.push_back(fpr[static_cast<size_t>(at)]);
    out.tpr.push_back(tpr[static_cast<size_t>(at)]);
  }
  return out;
}

}  // namespace imlm::analysis

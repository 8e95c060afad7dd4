#include "core/analysis/roc_auc.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include <ATen/Functions.h>

#include "core/errors.h"

namespace imlm::analysis {

RankedScores rankScores(const double* scores, int64_t n) {
  RankedScores ranked;
  ranked.order.resize(static_cast<size_t>(n));
  std::iota(ranked.order.begin(), ranked.order.end(), int64_t{0});
  std::stable_sort(ranked.order.begin(), ranked.order.end(), [scores](int64_t a, int64_t b) { return scores[a] < scores[b]; });
  for (int64_t i = 1; i <= n; ++i) {
    if (i == n || scores[ranked.order[i]] != scores[ranked.order[i - 1]]) ranked.groupEnd.push_back(i);
  }
  return ranked;
}

std::optional<double> weightedAuc(const RankedScores& ranked, const uint8_t* positive, const int64_t* weights) {
  // Twice the Mann–Whitney count, in integers so that it is exact: each (positive, negative)
  // pair adds 2 when the positive scores higher and 1 when the scores tie.
  int64_t twiceWins = 0;
  int64_t negativesBelow = 0;
  int64_t positives = 0;
  int64_t begin = 0;
  for (int64_t end : ranked.groupEnd) {
    int64_t groupPositives = 0;
    int64_t groupNegatives = 0;
    for (int64_t k = begin; k < end; ++k) {
      const int64_t row = ranked.order[k];
      const int64_t w = weights ? weights[row] : 1;
      if (positive[row]) groupPositives += w;
      else groupNegatives += w;
    }
    twiceWins += groupPositives * (2 * negativesBelow + groupNegatives);
    negativesBelow += groupNegatives;
    positives += groupPositives;
    begin = end;
  }
  if (positives == 0 || negativesBelow == 0) return std::nullopt;
  return static_cast<double>(twiceWins) / (2.0 * static_cast<double>(positives) * static_cast<double>(negativesBelow));
}

double rocAuc(const at::Tensor& scores, const at::Tensor& labels) {
  if (scores.dim() != 1 || labels.dim() != 1 || scores.size(0) != labels.size(0)) {
    throw Error(ErrorCode::kInvalidArgument, "rocAuc expects scores [N] and labels [N] of the same length");
  }
  at::Tensor s = scores.to(at::kCPU, at::kDouble).contiguous();
  at::Tensor y = labels.to(at::kCPU, at::kLong).contiguous();
  const int64_t n = s.size(0);
  const double* sp = s.data_ptr<double>();
  const int64_t* yp = y.data_ptr<int64_t>();
  std::vector<uint8_t> positive(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(sp[i])) throw Error(ErrorCode::kNonFinite, "score " + std::to_string(i) + " is NaN or infinite");
    if (yp[i] != 0 && yp[i] != 1) throw Error(ErrorCode::kInvalidArgument, "labels must be 0 or 1; label " + std::to_string(i) + " is " + std::to_string(yp[i]));
    positive[i] = static_cast<uint8_t>(yp[i]);
  }
  const std::optional<double> auc = weightedAuc(rankScores(sp, n), positive.data(), nullptr);
  if (!auc) throw Error(ErrorCode::kInvalidArgument, "ROC AUC is undefined: only one label value is present in " + std::to_string(n) + " rows");
  return *auc;
}

}  // namespace imlm::analysis

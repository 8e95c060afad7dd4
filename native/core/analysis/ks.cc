#include "core/analysis/ks.h"

#include <algorithm>
#include <cmath>
#include <string>

#include <ATen/Functions.h>

#include "core/analysis/kolmogorov.h"
#include "core/errors.h"
#include "core/tensor_io.h"

namespace imlm::analysis {
namespace {

std::vector<double> sortedValues(const at::Tensor& column, const char* name, bool probabilities) {
  at::Tensor c = column.to(at::kCPU, at::kDouble).contiguous();
  const double* p = c.data_ptr<double>();
  std::vector<double> values(p, p + c.numel());
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      throw Error(ErrorCode::kNonFinite, std::string(name) + " holds a NaN or infinite value (row " + std::to_string(i) + ")");
    }
    if (probabilities && (values[i] < 0 || values[i] > 1)) {
      throw Error(ErrorCode::kInvalidArgument, std::string("expected probabilities in [0, 1] but ") + name + " row " + std::to_string(i) + " is " +
                                                   std::to_string(values[i]) + " (logits? apply softmax or sigmoid first)");
    }
  }
  std::sort(values.begin(), values.end());
  return values;
}

KsResult ksSorted(const std::vector<double>& a, const std::vector<double>& b) {
  KsResult r;
  r.n1 = static_cast<int64_t>(a.size());
  r.n2 = static_cast<int64_t>(b.size());
  if (r.n1 == 0 || r.n2 == 0) throw Error(ErrorCode::kInvalidArgument, "the KS test needs at least one value in each sample");
  const double n1 = static_cast<double>(r.n1);
  const double n2 = static_cast<double>(r.n2);
  // The empirical CDFs at every observed value (right-continuous, so ties move together), as
  // ks_2samp's searchsorted(side='right') evaluates them.
  double maxDiff = -1, minDiff = 1;
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    const double x = (j >= b.size() || (i < a.size() && a[i] <= b[j])) ? a[i] : b[j];
    while (i < a.size() && a[i] <= x) ++i;
    while (j < b.size() && b[j] <= x) ++j;
    const double diff = static_cast<double>(i) / n1 - static_cast<double>(j) / n2;
    maxDiff = std::max(maxDiff, diff);
    minDiff = std::min(minDiff, diff);
  }
  const double below = std::min(1.0, std::max(0.0, -minDiff));
  r.statistic = below > maxDiff ? below : maxDiff;
  const double large = std::max(n1, n2), small = std::min(n1, n2);
  const double en = large * small / (large + small);
  r.effectiveN = static_cast<int64_t>(std::nearbyint(en));  // default rounding mode: half to even
  if (r.effectiveN < 1) {
    throw Error(ErrorCode::kInvalidArgument, "the KS p-value needs round(n1·n2/(n1+n2)) ≥ 1; samples of " + std::to_string(r.n1) + " and " +
                                                 std::to_string(r.n2) + " values are too small");
  }
  r.pvalue = std::min(1.0, std::max(0.0, kolmogorovSf(r.effectiveN, r.statistic)));
  return r;
}

}  // namespace

KsResult ksTwoSample(const at::Tensor& a, const at::Tensor& b) {
  if (a.dim() != 1 || b.dim() != 1) {
    throw Error(ErrorCode::kInvalidArgument, "ksTwoSample expects two 1-D tensors but received " + shapeString(a.sizes()) + " and " + shapeString(b.sizes()));
  }
  return ksSorted(sortedValues(a, "sample a", false), sortedValues(b, "sample b", false));
}

std::vector<KsResult> ksPerColumn(const at::Tensor& a, const at::Tensor& b, bool probabilities) {
  if (a.dim() != 2 || b.dim() != 2 || a.size(1) != b.size(1)) {
    throw Error(ErrorCode::kInvalidArgument, "expected outputs [N1, K] and [N2, K] with the same K but received " + shapeString(a.sizes()) + " and " +
                                                 shapeString(b.sizes()));
  }
  std::vector<KsResult> results;
  for (int64_t c = 0; c < a.size(1); ++c) {
    const std::string nameA = "outputs a (column " + std::to_string(c) + ")";
    const std::string nameB = "outputs b (column " + std::to_string(c) + ")";
    results.push_back(ksSorted(sortedValues(a.select(1, c), nameA.c_str(), probabilities), sortedValues(b.select(1, c), nameB.c_str(), probabilities)));
  }
  return results;
}

}  // namespace imlm::analysis

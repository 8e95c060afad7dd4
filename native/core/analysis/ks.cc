#include "core/analysis/ks.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
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

// 'auto' is exact when both samples are at most this large (SciPy's MAX_AUTO_N).
constexpr int64_t kMaxAutoExact = 10000;

int64_t floorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
int64_t ceilDiv(int64_t a, int64_t b) { return -floorDiv(-a, b); }

KsResult ksSorted(const std::vector<double>& a, const std::vector<double>& b, KsMethod method) {
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
  const int64_t g = std::gcd(r.n1, r.n2);
  if (method == KsMethod::kAuto) method = std::max(r.n1, r.n2) <= kMaxAutoExact ? KsMethod::kExact : KsMethod::kAsymp;
  // Like SciPy, exact counting falls back to the asymptotic formula when lcm(n1, n2) is too large.
  if (method == KsMethod::kExact &&
      static_cast<double>(r.n1 / g) >= static_cast<double>(std::numeric_limits<int32_t>::max()) / static_cast<double>(r.n2 / g)) {
    method = KsMethod::kAsymp;
  }
  r.method = method;
  if (method == KsMethod::kExact) {
    const int64_t lcm = (r.n1 / g) * r.n2;
    const auto h = static_cast<int64_t>(std::nearbyint(r.statistic * static_cast<double>(lcm)));
    r.statistic = static_cast<double>(h) / static_cast<double>(lcm);  // D is a multiple of 1/lcm; SciPy reports it so
    r.pvalue = h == 0 ? 1.0 : std::min(1.0, std::max(0.0, ksExactSf(r.n1, r.n2, h)));
    return r;
  }
  r.pvalue = std::min(1.0, std::max(0.0, kolmogorovSf(r.effectiveN, r.statistic)));
  return r;
}

}  // namespace

const char* ksMethodName(KsMethod method) {
  switch (method) {
    case KsMethod::kAsymp: return "asymp";
    case KsMethod::kExact: return "exact";
    case KsMethod::kAuto: return "auto";
  }
  return "asymp";
}

double ksExactSf(int64_t m, int64_t n, int64_t h) {
  if (m < n) std::swap(m, n);
  const int64_t g = std::gcd(m, n);
  const int64_t mg = m / g;
  const int64_t ng = n / g;
  // a[j] holds, for the current column x = i, the share of lattice paths from (0,0) to (i, j)
  // that have left the band |ng·x − mg·y| < h (1 outside the band). Working with this share
  // rather than with the count of paths that stay inside keeps the recursion in [0, 1] with no
  // cancellation (Viehmann 2021, arXiv:2102.08037; the inside method of Hodges 1958):
  //   a(i, j) = (i·a(i−1, j) + j·a(i, j−1)) / (i + j).
  std::vector<double> a(static_cast<size_t>(n + 1), 1.0);
  int64_t low = 0;
  int64_t high = std::min(ceilDiv(h, mg), n + 1);  // the band in column 0: 0 ≤ y < h/mg
  std::fill(a.begin(), a.begin() + high, 0.0);
  for (int64_t i = 1; i <= m; ++i) {
    const int64_t lastLow = low, lastHigh = high;
    low = std::min(std::max<int64_t>(floorDiv(ng * i - h, mg) + 1, 0), n);
    high = std::min(ceilDiv(ng * i + h, mg), n + 1);
    if (high <= low) return 1.0;  // the band closes: every path leaves it
    double below = low == 0 ? 0.0 : 1.0;  // a(i, low − 1): outside the band (unused when low = 0)
    for (int64_t j = low; j < high; ++j) {
      below = (static_cast<double>(i) * a[j] + static_cast<double>(j) * below) / static_cast<double>(i + j);
      a[j] = below;
    }
    for (int64_t j = lastLow; j < std::min(low, lastHigh); ++j) a[j] = 1.0;   // left the band below
    for (int64_t j = std::max(high, lastLow); j < lastHigh; ++j) a[j] = 1.0;  // and above
  }
  return a[n];
}

KsResult ksTwoSample(const at::Tensor& a, const at::Tensor& b, KsMethod method) {
  if (a.dim() != 1 || b.dim() != 1) {
    throw Error(ErrorCode::kInvalidArgument, "ksTwoSample expects two 1-D tensors but received " + shapeString(a.sizes()) + " and " + shapeString(b.sizes()));
  }
  return ksSorted(sortedValues(a, "sample a", false), sortedValues(b, "sample b", false), method);
}

std::vector<KsResult> ksPerColumn(const at::Tensor& a, const at::Tensor& b, bool probabilities, KsMethod method) {
  if (a.dim() != 2 || b.dim() != 2 || a.size(1) != b.size(1)) {
    throw Error(ErrorCode::kInvalidArgument, "expected outputs [N1, K] and [N2, K] with the same K but received " + shapeString(a.sizes()) + " and " +
                                                 shapeString(b.sizes()));
  }
  std::vector<KsResult> results;
  for (int64_t c = 0; c < a.size(1); ++c) {
    const std::string nameA = "outputs a (column " + std::to_string(c) + ")";
    const std::string nameB = "outputs b (column " + std::to_string(c) + ")";
    results.push_back(ksSorted(sortedValues(a.select(1, c), nameA.c_str(), probabilities), sortedValues(b.select(1, c), nameB.c_str(), probabilities), method));
  }
  return results;
}

}  // namespace imlm::analysis

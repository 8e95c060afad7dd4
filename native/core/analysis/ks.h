// Two-sample Kolmogorov–Smirnov distance between two sets of model outputs (docs/method.md, metrics, "KS
// distance"): D = sup_x |F_a(x) − F_b(x)| and its two-sided p-value, as
// scipy.stats.ks_2samp(a, b, method=...) computes them: 'asymp' (kstwo.sf of the effective n),
// 'exact' (the lattice-path count of Hodges' inside method) or 'auto' (SciPy's default: exact
// when both samples have at most 10,000 values).
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace imlm::analysis {

enum class KsMethod { kAsymp, kExact, kAuto };

struct KsResult {
  double statistic = 0;  // D
  double pvalue = 1;     // kstwo.sf(D, round(n1·n2/(n1+n2)))
  int64_t n1 = 0;
  int64_t n2 = 0;
  int64_t effectiveN = 0;  // round(n1·n2/(n1+n2)), half to even like numpy.round
  KsMethod method = KsMethod::kAsymp;  // the method that gave the p-value (never kAuto)
};

const char* ksMethodName(KsMethod method);

/** P(D_{m,n} ≥ h/lcm(m, n)) exactly: the share of lattice paths from (0,0) to (m,n) that leave the band |x/m − y/n| < h/lcm. */
double ksExactSf(int64_t m, int64_t n, int64_t h);

/** a: [N1], b: [N2], finite (kNonFinite otherwise), N1, N2 ≥ 1 with an effective n ≥ 1. */
KsResult ksTwoSample(const at::Tensor& a, const at::Tensor& b, KsMethod method = KsMethod::kAsymp);

/**
 * One test per column of a: [N1, K] and b: [N2, K] (K columns: one class's probability each).
 * With `probabilities`, values outside [0, 1] are refused (kInvalidArgument).
 */
std::vector<KsResult> ksPerColumn(const at::Tensor& a, const at::Tensor& b, bool probabilities, KsMethod method = KsMethod::kAsymp);

}  // namespace imlm::analysis

// Two-sample Kolmogorov–Smirnov distance between two sets of model outputs (METHOD.md §8, "KS
// distance"): D = sup_x |F_a(x) − F_b(x)| and its asymptotic two-sided p-value, both as
// scipy.stats.ks_2samp(a, b, method='asymp') computes them.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace imlm::analysis {

struct KsResult {
  double statistic = 0;  // D
  double pvalue = 1;     // kstwo.sf(D, round(n1·n2/(n1+n2)))
  int64_t n1 = 0;
  int64_t n2 = 0;
  int64_t effectiveN = 0;  // round(n1·n2/(n1+n2)), half to even like numpy.round
};

/** a: [N1], b: [N2], finite (kNonFinite otherwise), N1, N2 ≥ 1 with an effective n ≥ 1. */
KsResult ksTwoSample(const at::Tensor& a, const at::Tensor& b);

/**
 * One test per column of a: [N1, K] and b: [N2, K] (K columns: one class's probability each).
 * With `probabilities`, values outside [0, 1] are refused (kInvalidArgument).
 */
std::vector<KsResult> ksPerColumn(const at::Tensor& a, const at::Tensor& b, bool probabilities);

}  // namespace imlm::analysis

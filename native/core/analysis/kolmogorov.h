// The exact distribution of the two-sided one-sample Kolmogorov–Smirnov statistic D_n, with the
// algorithm choices of Simard & L'Ecuyer (2011) at the thresholds SciPy uses, so that
// kolmogorovSf(n, x) equals scipy.stats.kstwo.sf(x, n) (SciPy 1.10, scipy/stats/_ksstats.py):
//   Ruben–Gambino closed forms near x = 1/(2n) and x = 1; 2·P(D_n⁺ ≥ x) (Smirnov's one-sided
//   sum, exact for x ≥ 0.5); the Durbin matrix (Marsaglia–Tsang–Wang) or Pomeranz recursion for
//   small n·x²; the Pelz–Good asymptotic series for large n. ks_2samp(method='asymp') is
//   kstwo.sf(D, round(n1·n2/(n1+n2))).
#pragma once

#include <cstdint>

namespace imlm::analysis {

/** P(D_n ≥ x): scipy.stats.kstwo.sf(x, n); 1 for x ≤ 1/(2n), 0 for x ≥ 1. n ≥ 1. */
double kolmogorovSf(int64_t n, double x);

/** P(D_n⁺ ≥ x), the one-sided statistic (Smirnov / Birnbaum–Tingey sum): scipy.special.smirnov(n, x). */
double smirnovSf(int64_t n, double x);

}  // namespace imlm::analysis

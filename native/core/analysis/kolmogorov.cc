#include "core/analysis/kolmogorov.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>

namespace imlm::analysis {
namespace {

// Intermediate results are rescaled by 2^±128 to stay inside double's range (SciPy's _E128).
constexpr int kScaleExponent = 128;
const double kScaleUp = std::ldexp(1.0, kScaleExponent);
const double kScaleDown = std::ldexp(1.0, -kScaleExponent);
constexpr double kPi = 3.14159265358979323846;
// exp() of anything below this underflows (SciPy's _MIN_LOG).
constexpr double kMinLog = -708;

double clipProbability(double p) { return std::min(1.0, std::max(0.0, p)); }

/** log(n! / nⁿ) by Stirling's series with n·log n removed up front (no cancellation). */
double logFactorialOverPower(int64_t n) {
  // B_{2j}/(2j(2j−1)) for j = 8..1, highest order first.
  static constexpr std::array<double, 8> kStirling = {-2.955065359477124183e-2, 6.4102564102564102564e-3, -1.9175269175269175269e-3,
                                                      8.4175084175084175084e-4, -5.952380952380952381e-4, 7.9365079365079365079e-4,
                                                      -2.7777777777777777778e-3, 8.3333333333333333333e-2};
  const double nd = static_cast<double>(n);
  const double rn = 1.0 / nd;
  double poly = 0;
  for (double c : kStirling) poly = poly * (rn / nd) + c;
  return std::log(nd) / 2 - nd + std::log(2 * kPi) / 2 + rn * poly;
}

/** P(D_n ≤ d) by Durbin's matrix, computed as Marsaglia, Tsang & Wang (2003): the (k,k) entry of Hⁿ·n!/nⁿ. */
double durbinMatrixCdf(int64_t n, double d) {
  if (d >= 1.0) return 1.0;
  const double nd = static_cast<double>(n) * d;
  if (nd <= 0.5) return 0.0;
  const auto k = static_cast<int64_t>(std::ceil(nd));
  const double h = static_cast<double>(k) - nd;
  const int64_t m = 2 * k - 1;

  std::vector<double> v(static_cast<size_t>(m)), w(static_cast<size_t>(m));
  double factorial = 1.0;  // 1/j! as j grows
  for (int64_t j = 1; j <= m; ++j) {
    w[j - 1] = factorial;
    factorial /= static_cast<double>(j);
    v[j - 1] = (1.0 - std::pow(h, static_cast<double>(j))) * factorial;
  }
  const double tt = std::pow(std::max(2 * h - 1.0, 0.0), static_cast<double>(m)) - 2 * std::pow(h, static_cast<double>(m));
  v[m - 1] = (1.0 + tt) * factorial;

  at::Tensor hm = at::zeros({m, m}, at::kDouble);
  auto a = hm.accessor<double, 2>();
  for (int64_t i = 1; i < m; ++i) {
    for (int64_t r = i - 1; r < m; ++r) a[r][i] = w[r - (i - 1)];
  }
  for (int64_t r = 0; r < m; ++r) a[r][0] = v[r];
  for (int64_t c = 0; c < m; ++c) a[m - 1][c] = v[m - 1 - c];

  at::Tensor power = at::eye(m, at::kDouble);
  int64_t exponent = 0;        // power = true power · 2^−exponent
  int64_t matrixExponent = 0;  // hm = true matrix · 2^−matrixExponent
  for (int64_t left = n; left > 0; left /= 2) {
    if (left % 2) {
      power = at::mm(power, hm);
      exponent += matrixExponent;
    }
    hm = at::mm(hm, hm);
    matrixExponent *= 2;
    if (std::abs(hm[k - 1][k - 1].item<double>()) > kScaleUp) {
      hm = hm / kScaleUp;
      matrixExponent += kScaleExponent;
    }
  }
  long double p = power[k - 1][k - 1].item<double>();
  for (int64_t i = 1; i <= n; ++i) {
    p = static_cast<long double>(i) * p / static_cast<long double>(n);
    if (std::abs(p) < static_cast<long double>(kScaleDown)) {
      p *= static_cast<long double>(kScaleUp);
      exponent -= kScaleExponent;
    }
  }
  return clipProbability(static_cast<double>(std::ldexp(p, static_cast<int>(exponent))));
}

/** Column range [first, last] of row i of Pomeranz's recursion. */
std::pair<int64_t, int64_t> pomeranzRange(int64_t i, int64_t n, int64_t ll, int64_t ceilF, int64_t roundF) {
  int64_t j1 = 0;
  int64_t j2 = 0;
  if (i == 0) {
    j1 = -ll - ceilF - 1;
    j2 = ll + ceilF - 1;
  } else {
    const int64_t half = (i + 1) / 2;
    if ((i + 1) % 2 == 0) {  // i odd
      if (half == n + 1) {
        j1 = n - ll - ceilF - 1;
        j2 = n + ll + ceilF - 1;
      } else {
        j1 = half - 1 - ll - roundF - 1;
        j2 = half + ll - 1 + ceilF - 1;
      }
    } else {
      j1 = half - 1 - ll - 1;
      j2 = half + ll + roundF - 1;
    }
  }
  return {std::max<int64_t>(j1 + 2, 0), std::min(j2, n)};
}

/** P(D_n ≤ x) by Pomeranz's (1974) recursion: each row a convolution of the previous one with Poisson-like weights. */
double pomeranzCdf(int64_t n, double x) {
  const double t = static_cast<double>(n) * x;
  const auto ll = static_cast<int64_t>(std::floor(t));
  const double f = t - static_cast<double>(ll);
  const double g = std::min(f, 1.0 - f);
  const int64_t ceilF = f > 0 ? 1 : 0;
  const int64_t roundF = f > 0.5 ? 1 : 0;
  const int64_t powers = 2 * (ll + 1);
  std::vector<double> gPower(static_cast<size_t>(powers)), twoGPower(static_cast<size_t>(powers)), oneMinusTwoGPower(static_cast<size_t>(powers));
  gPower[0] = twoGPower[0] = oneMinusTwoGPower[0] = 1.0;
  const double nd = static_cast<double>(n);
  const double gOverN = g / nd, twoGOverN = 2 * g / nd, oneMinusTwoGOverN = (1 - 2 * g) / nd;
  for (int64_t m = 1; m < powers; ++m) {
    gPower[m] = gPower[m - 1] * gOverN / static_cast<double>(m);
    twoGPower[m] = twoGPower[m - 1] * twoGOverN / static_cast<double>(m);
    oneMinusTwoGPower[m] = oneMinusTwoGPower[m - 1] * oneMinusTwoGOverN / static_cast<double>(m);
  }
  std::vector<double> previous(static_cast<size_t>(powers), 0.0), current(static_cast<size_t>(powers), 0.0);
  current[0] = 1;
  int64_t previousStart = 0, currentStart = 0;
  int64_t exponent = 0;
  auto [j1, j2] = pomeranzRange(0, n, ll, ceilF, roundF);
  for (int64_t i = 1; i < 2 * n + 2; ++i) {
    const int64_t k1 = j1;
    std::swap(previous, current);
    std::swap(previousStart, currentStart);
    std::fill(current.begin(), current.end(), 0.0);
    std::tie(j1, j2) = pomeranzRange(i, n, ll, ceilF, roundF);
    const std::vector<double>& weights = (i == 1 || i == 2 * n + 1) ? gPower : (i % 2 ? twoGPower : oneMinusTwoGPower);
    const int64_t length = j2 - k1 + 1;
    if (length > 0) {
      // current[0 .. j2−j1] = (previous[k1 − start ..] ∗ weights)[j1 − k1 ..]
      const int64_t offset = k1 - previousStart;
      const int64_t first = j1 - k1;
      const int64_t count = j2 - j1 + 1;
      double largest = 0;
      for (int64_t out = 0; out < count; ++out) {
        const int64_t lag = first + out;  // index into the full convolution
        double sum = 0;
        for (int64_t a = std::max<int64_t>(0, lag - (length - 1)); a <= std::min(lag, length - 1); ++a) {
          sum += previous[offset + a] * weights[lag - a];
        }
        current[out] = sum;
        largest = std::max(largest, sum);
      }
      if (largest > 0 && largest < kScaleDown) {
        for (double& c : current) c *= kScaleUp;
        exponent -= kScaleExponent;
      }
      currentStart = previousStart + j1 - k1;
    }
  }
  long double answer = current[n - currentStart];
  for (int64_t m = 1; m <= n; ++m) {
    if (std::abs(answer) > static_cast<long double>(kScaleUp)) {
      answer *= static_cast<long double>(kScaleDown);
      exponent += kScaleExponent;
    }
    answer *= static_cast<long double>(m);
  }
  return clipProbability(static_cast<double>(std::ldexp(answer, static_cast<int>(exponent))));
}

/** Pelz & Good's (1976) approximation of P(D_n ≤ x): the Li-Chien/Korolyuk expansion in 1/√n, transformed for small z = x√n. */
double pelzGoodCdf(int64_t n, double x) {
  if (x <= 0.0) return 0.0;
  if (x >= 1.0) return 1.0;
  const double nd = static_cast<double>(n);
  const double z = std::sqrt(nd) * x;
  const double z2 = z * z, z3 = z2 * z, z4 = z2 * z2, z6 = z4 * z2;
  const double pi2 = kPi * kPi, pi4 = pi2 * pi2, pi6 = pi4 * pi2;
  const double qlog = -pi2 / 8 / z2;
  if (qlog < kMinLog) return 0.0;
  double q = std::exp(qlog);

  const double k1a = -z2, k1b = pi2 / 4;
  const double k2a = 6 * z6 + 2 * z4, k2b = (2 * z4 - 5 * z2) * pi2 / 4, k2c = pi4 * (1 - 2 * z2) / 16;
  const double k3d = pi6 * (5 - 30 * z2) / 64, k3c = pi4 * (-60 * z2 + 212 * z4) / 16, k3b = pi2 * (135 * z4 - 96 * z6) / 4,
               k3a = -30 * z6 - 90 * std::pow(z, 8);
  std::array<double, 4> terms = {0, 0, 0, 0};
  const auto maxK = static_cast<int64_t>(std::ceil(16 * z / kPi));
  // Horner over the odd integers m = 2k − 1 of Σ c_m q^(m²).
  for (int64_t k = maxK; k > 0; --k) {
    const double m = static_cast<double>(2 * k - 1);
    const double m2 = m * m, m4 = m2 * m2, m6 = m4 * m2;
    const double qPower = std::pow(q, static_cast<double>(8 * k));
    const std::array<double, 4> coefficients = {1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6};
    for (int i = 0; i < 4; ++i) terms[i] = terms[i] * qPower + coefficients[i];
  }
  const std::array<double, 4> divisors = {z, 6 * z4, 72 * std::pow(z, 7), 6480 * std::pow(z, 10)};
  const double root2Pi = std::sqrt(2 * kPi);
  for (int i = 0; i < 4; ++i) terms[i] = terms[i] * q * root2Pi / divisors[i];

  // The sums over all integers k in K2 and K3.
  q = std::exp(-pi2 / 2 / z2);
  const double root3z = std::sqrt(3.0) * z;
  double k2Extra = 0, k3Extra = 0;
  for (int64_t k = maxK; k > 0; --k) {
    const double kd = static_cast<double>(k);
    const double k2 = kd * kd;
    const double qPower = std::pow(q, k2);
    k2Extra += k2 * qPower;
    k3Extra += (root3z + kPi * kd) * (root3z - kPi * kd) * k2 * qPower;
  }
  terms[2] += k2Extra * (pi2 * root2Pi / (-36 * z3));
  terms[3] += k3Extra * (pi2 * root2Pi / (216 * z6));
  double sum = 0;
  for (int i = 0; i < 4; ++i) sum += terms[i] / std::pow(nd, i / 2.0);
  return sum;
}

}  // namespace

double smirnovSf(int64_t n, double x) {
  if (std::isnan(x)) return x;
  if (x <= 0.0) return 1.0;
  if (x >= 1.0) return 0.0;
  // Σ_{v=0}^{⌊n(1−x)⌋} C(n, v) · x · (x + v/n)^(v−1) · (1 − x − v/n)^(n−v), every term ≥ 0,
  // each taken through logs in extended precision.
  const long double nl = static_cast<long double>(n);
  const long double xl = x;
  const auto last = static_cast<int64_t>(std::floor(nl * (1 - xl)));
  const long double logNFactorial = std::lgamma(nl + 1);
  long double sum = 0;
  for (int64_t v = 0; v <= std::min(last, n); ++v) {
    const long double vl = static_cast<long double>(v);
    const long double up = xl + vl / nl;
    const long double down = (nl - vl) / nl - xl;
    if (down <= 0) {
      if (v == n) sum += std::exp(logNFactorial - std::lgamma(vl + 1) + (vl - 1) * std::log(up));
      continue;
    }
    const long double logTerm = logNFactorial - std::lgamma(vl + 1) - std::lgamma(nl - vl + 1) + (vl - 1) * std::log(up) + (nl - vl) * std::log(down);
    sum += std::exp(logTerm);
  }
  return clipProbability(static_cast<double>(sum * xl));
}

double kolmogorovSf(int64_t n, double x) {
  if (std::isnan(x) || n < 1) return std::nan("");
  const double nd = static_cast<double>(n);
  // scipy.stats.kstwo's support is [1/(2n), 1]: at or below it the sf is 1, at or above 1 it is 0.
  if (x <= 0.5 / nd) return 1.0;
  if (x >= 1.0) return 0.0;
  const double t = nd * x;
  if (t <= 1.0) {  // Ruben–Gambino: P(D_n ≤ x) = n!/nⁿ · (2t − 1)ⁿ
    double cdf = 1.0;
    if (n <= 140) {
      for (int64_t i = 1; i <= n; ++i) cdf *= static_cast<double>(i) * (1.0 / nd) * (2 * t - 1);
    } else {
      cdf = std::exp(logFactorialOverPower(n) + nd * std::log(2 * t - 1));
    }
    return clipProbability(1.0 - cdf);
  }
  if (t >= nd - 1) return clipProbability(2 * std::pow(1.0 - x, nd));  // Ruben–Gambino
  if (x >= 0.5) return clipProbability(2 * smirnovSf(n, x));          // D⁺ ≥ x and D⁻ ≥ x cannot both hold
  const double nx2 = t * x;
  if (n <= 140) {
    if (nx2 <= 0.754693) return clipProbability(1.0 - durbinMatrixCdf(n, x));
    if (nx2 <= 4) return clipProbability(1.0 - pomeranzCdf(n, x));
    return clipProbability(2 * smirnovSf(n, x));
  }
  if (nx2 >= 370.0) return 0.0;
  if (nx2 >= 2.2) return clipProbability(2 * smirnovSf(n, x));
  const double cdf = (n <= 100000 && nd * std::pow(x, 1.5) <= 1.4) ? durbinMatrixCdf(n, x) : pelzGoodCdf(n, x);
  return clipProbability(1.0 - cdf);
}

}  // namespace imlm::analysis

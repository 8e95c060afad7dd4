#include "core/analysis/summary.h"

#include <algorithm>
#include <cmath>

#include "core/errors.h"

namespace imlm::analysis {

double percentile(std::vector<double> values, double q) {
  if (values.empty()) throw Error(ErrorCode::kInternal, "percentile of no values");
  std::sort(values.begin(), values.end());
  const double h = (static_cast<double>(values.size()) - 1) * q;
  const auto lo = static_cast<size_t>(std::floor(h));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  const double t = h - static_cast<double>(lo);
  const double a = values[lo];
  const double b = values[hi];
  // NumPy's _lerp: interpolate from the nearer end so that t = 1 returns b exactly.
  const double diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

double median(std::vector<double> values) {
  if (values.empty()) throw Error(ErrorCode::kInternal, "median of no values");
  const size_t half = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + half, values.end());
  const double upper = values[half];
  if (values.size() % 2 == 1) return upper;
  const double lower = *std::max_element(values.begin(), values.begin() + half);
  return (lower + upper) / 2;
}

MeanStd meanAndStd(const std::vector<double>& values) {
  MeanStd out;
  if (values.empty()) return out;
  double sum = 0;
  for (double v : values) sum += v;
  out.mean = sum / static_cast<double>(values.size());
  double squares = 0;
  for (double v : values) squares += (v - out.mean) * (v - out.mean);
  out.std = std::sqrt(squares / static_cast<double>(values.size()));
  return out;
}

PercentileInterval percentileInterval(const std::vector<double>& values, double confidence) {
  PercentileInterval out;
  out.confidence = confidence;
  out.low = percentile(values, (1 - confidence) / 2);
  out.high = percentile(values, (1 + confidence) / 2);
  return out;
}

PaperInterval paperInterval(const std::vector<double>& values) {
  const MeanStd ms = meanAndStd(values);
  const double half = 1.96 * ms.std / std::sqrt(static_cast<double>(std::max<size_t>(values.size(), 1)));
  return {ms.mean, ms.mean - half, ms.mean + half, static_cast<int64_t>(values.size())};
}

}  // namespace imlm::analysis

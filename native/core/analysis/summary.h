// Summaries of a set of resampled values: the percentile interval (NumPy's default 'linear'
// percentile), the mean and population std, and the paper's mean ± 1.96·std/√B interval.
#pragma once

#include <cstdint>
#include <vector>

namespace imlm::analysis {

/** The q-th quantile (0 ≤ q ≤ 1) of `values` as numpy.percentile(values, 100·q) computes it. */
double percentile(std::vector<double> values, double q);

/** numpy.median: the mean of the two middle values for an even count. */
double median(std::vector<double> values);

struct MeanStd {
  double mean = 0;
  double std = 0;  // population (ddof 0), like numpy.std
};
MeanStd meanAndStd(const std::vector<double>& values);

/** A percentile bootstrap confidence interval. */
struct PercentileInterval {
  double low = 0;
  double high = 0;
  double confidence = 0.95;
};
/** The central `confidence` interval of the resampled values: quantiles (1−c)/2 and (1+c)/2. */
PercentileInterval percentileInterval(const std::vector<double>& values, double confidence);

/**
 * The reference code's interval (docs/method.md Q11): mean ± 1.96·std/√B with population std over
 * the B values. It is a standard-error interval of the bootstrap mean, not a 95% CI of the
 * metric; imlm-native reports it only for comparison with the paper.
 */
struct PaperInterval {
  double mean = 0;
  double low = 0;
  double high = 0;
  int64_t values = 0;  // B (for NIH-style pooling: resamples × classes)
};
PaperInterval paperInterval(const std::vector<double>& values);

}  // namespace imlm::analysis

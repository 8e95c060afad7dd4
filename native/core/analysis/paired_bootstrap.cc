#include "core/analysis/paired_bootstrap.h"

#include <cstring>
#include <functional>
#include <string>

#include <ATen/Functions.h>

#include "core/analysis/classification_rows.h"
#include "core/analysis/sampling.h"
#include "core/errors.h"
#include "core/tensor_io.h"

namespace imlm::analysis {
namespace {

using MetricOf = std::function<std::optional<double>(const RowValues&)>;

/** Mean over pairs of A − B; nullopt when any value is undefined. */
std::optional<double> meanDifference(const std::vector<RowValues>& a, const std::vector<RowValues>& b, const MetricOf& metric) {
  double sum = 0;
  for (size_t s = 0; s < a.size(); ++s) {
    const std::optional<double> va = metric(a[s]);
    const std::optional<double> vb = metric(b[s]);
    if (!va || !vb) return std::nullopt;
    sum += *va - *vb;
  }
  return sum / static_cast<double>(a.size());
}

}  // namespace

PairedComparison pairedComparison(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b, const at::Tensor& labels, Task task,
                                  const BootstrapOptions& options, bool keepResampleCounts) {
  if (a.empty() || a.size() != b.size()) {
    throw Error(ErrorCode::kInvalidArgument, "expected the same number (≥ 1) of outputs of model A and model B but received " + std::to_string(a.size()) +
                                                 " and " + std::to_string(b.size()));
  }
  if (options.resamples < 0) throw Error(ErrorCode::kInvalidArgument, "expected resamples ≥ 0 but received " + std::to_string(options.resamples));
  if (!(options.confidence > 0 && options.confidence < 1)) {
    throw Error(ErrorCode::kInvalidArgument, "expected a confidence level in (0, 1) but received " + std::to_string(options.confidence));
  }
  std::vector<PreparedRows> rowsA, rowsB;
  for (size_t s = 0; s < a.size(); ++s) {
    for (const at::Tensor* t : {&a[s], &b[s]}) {
      if (t->sizes() != a[0].sizes()) {
        throw Error(ErrorCode::kInvalidArgument, "expected every output to have the shape of the first, " + shapeString(a[0].sizes()) + ", but pair " +
                                                     std::to_string(s) + " has " + shapeString(t->sizes()) + " (the models must score the same rows)");
      }
    }
    rowsA.push_back(prepareRows(a[s], labels, task));
    rowsB.push_back(prepareRows(b[s], labels, task));
  }

  PairedComparison out;
  out.task = task;
  out.samples = rowsA[0].n;
  out.classes = rowsA[0].k;
  out.pairs = static_cast<int64_t>(a.size());
  out.bootstrap = options;

  const std::pair<PairedDifference*, MetricOf> metrics[] = {
      {&out.aucMacro, [](const RowValues& v) { return v.aucMacro; }},
      {&out.f1, [](const RowValues& v) { return std::optional<double>(v.f1); }},
      {&out.accuracy, [](const RowValues& v) { return std::optional<double>(v.accuracy); }},
  };

  std::vector<RowValues> fullA, fullB;
  for (size_t s = 0; s < a.size(); ++s) {
    fullA.push_back(evaluateRows(rowsA[s], nullptr));
    fullB.push_back(evaluateRows(rowsB[s], nullptr));
  }
  for (const auto& [target, metric] : metrics) {
    for (size_t s = 0; s < a.size(); ++s) {
      target->a.push_back(metric(fullA[s]));
      target->b.push_back(metric(fullB[s]));
    }
    target->difference = meanDifference(fullA, fullB, metric);
    if (!target->difference) target->reason = "no class has both positive and negative labels";
  }

  if (keepResampleCounts) out.resampleCounts = at::zeros({options.resamples, out.samples}, at::kLong);
  std::vector<std::vector<double>> values(std::size(metrics));
  SampleRng rng(options.seed);
  std::vector<RowValues> resampledA(a.size()), resampledB(a.size());
  for (int64_t r = 0; r < options.resamples; ++r) {
    const std::vector<int64_t> counts = rng.resampleCounts(out.samples);
    if (keepResampleCounts) std::memcpy(out.resampleCounts[r].data_ptr<int64_t>(), counts.data(), counts.size() * sizeof(int64_t));
    for (size_t s = 0; s < a.size(); ++s) {
      resampledA[s] = evaluateRows(rowsA[s], counts.data());
      resampledB[s] = evaluateRows(rowsB[s], counts.data());
    }
    for (size_t m = 0; m < std::size(metrics); ++m) {
      if (const std::optional<double> d = meanDifference(resampledA, resampledB, metrics[m].second)) values[m].push_back(*d);
    }
  }
  for (size_t m = 0; m < std::size(metrics); ++m) {
    PairedDifference& target = *metrics[m].first;
    target.resamplesUsed = static_cast<int64_t>(values[m].size());
    if (!values[m].empty()) target.ci = percentileInterval(values[m], options.confidence);
  }
  return out;
}

}  // namespace imlm::analysis

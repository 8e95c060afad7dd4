#include "core/analysis/classification.h"

#include <cmath>
#include <string>

#include <ATen/Functions.h>

#include "core/analysis/roc_auc.h"
#include "core/analysis/sampling.h"
#include "core/errors.h"
#include "core/tensor_io.h"

namespace imlm::analysis {
namespace {

// Above this, a sigmoid or binary positive probability predicts the class (argmax's tie rule:
// exactly 0.5 predicts the negative, like numpy.argmax picking the first of equal columns).
constexpr double kDecisionThreshold = 0.5;

/** Rows prepared once; `evaluate` runs on them with per-row weights (bootstrap multiplicities). */
struct Prepared {
  Task task = Task::kMulticlass;
  int64_t n = 0;
  int64_t k = 0;
  std::vector<int64_t> aucClasses;                // classes whose AUC is computed
  std::vector<std::vector<uint8_t>> targets;      // per AUC class: is row i positive
  std::vector<RankedScores> ranked;               // per AUC class
  std::vector<bool> included;                     // per AUC class
  std::vector<int64_t> label;                     // multiclass/binary: true class per row
  std::vector<int64_t> predicted;                 // multiclass/binary: predicted class per row
  std::vector<std::vector<uint8_t>> truthBits;    // multilabel: per class, per row
  std::vector<std::vector<uint8_t>> predictedBits;
};

struct Values {
  std::vector<std::optional<double>> auc;  // per AUC class
  std::optional<double> aucMacro;
  double f1 = 0;
  double f1Positive = 0;
  double accuracy = 0;
};

double classF1(int64_t tp, int64_t fp, int64_t fn) {
  const int64_t denominator = 2 * tp + fp + fn;
  return denominator == 0 ? 0.0 : 2.0 * static_cast<double>(tp) / static_cast<double>(denominator);
}

Values evaluate(const Prepared& p, const int64_t* weights) {
  Values v;
  double aucSum = 0;
  int64_t aucCount = 0;
  for (size_t c = 0; c < p.aucClasses.size(); ++c) {
    v.auc.push_back(weightedAuc(p.ranked[c], p.targets[c].data(), weights));
    if (p.included[c] && v.auc.back()) {
      aucSum += *v.auc.back();
      ++aucCount;
    }
  }
  if (aucCount > 0) v.aucMacro = aucSum / static_cast<double>(aucCount);

  int64_t total = 0;
  int64_t correct = 0;
  std::vector<int64_t> tp(static_cast<size_t>(p.k), 0), fp(static_cast<size_t>(p.k), 0), fn(static_cast<size_t>(p.k), 0);
  if (p.task == Task::kMultilabel) {
    for (int64_t i = 0; i < p.n; ++i) {
      const int64_t w = weights ? weights[i] : 1;
      if (w == 0) continue;
      bool allRight = true;
      for (int64_t c = 0; c < p.k; ++c) {
        const bool truth = p.truthBits[c][i] != 0;
        const bool guess = p.predictedBits[c][i] != 0;
        if (truth && guess) tp[c] += w;
        else if (guess) fp[c] += w;
        else if (truth) fn[c] += w;
        allRight = allRight && truth == guess;
      }
      total += w;
      if (allRight) correct += w;
    }
    double sum = 0;
    for (int64_t c = 0; c < p.k; ++c) sum += classF1(tp[c], fp[c], fn[c]);
    v.f1 = sum / static_cast<double>(p.k);
  } else {
    for (int64_t i = 0; i < p.n; ++i) {
      const int64_t w = weights ? weights[i] : 1;
      if (w == 0) continue;
      const int64_t y = p.label[i];
      const int64_t g = p.predicted[i];
      if (y == g) {
        tp[y] += w;
        correct += w;
      } else {
        fp[g] += w;
        fn[y] += w;
      }
      total += w;
    }
    double sum = 0;
    int64_t present = 0;
    for (int64_t c = 0; c < p.k; ++c) {
      if (tp[c] + fp[c] + fn[c] == 0) continue;  // in neither labels nor predictions
      sum += classF1(tp[c], fp[c], fn[c]);
      ++present;
    }
    v.f1 = present == 0 ? 0.0 : sum / static_cast<double>(present);
    if (p.task == Task::kBinary) v.f1Positive = classF1(tp[1], fp[1], fn[1]);
  }
  v.accuracy = total == 0 ? 0.0 : static_cast<double>(correct) / static_cast<double>(total);
  return v;
}

std::string rowCount(int64_t n) { return std::to_string(n) + (n == 1 ? " row" : " rows"); }

void checkProbabilities(const at::Tensor& probabilities, Task task) {
  if (probabilities.dim() != 2 || !at::isFloatingType(probabilities.scalar_type())) {
    throw Error(ErrorCode::kInvalidArgument, "expected probabilities as a floating tensor [N, K] but received " +
                                                 std::string(c10::toString(probabilities.scalar_type())) + " " + shapeString(probabilities.sizes()));
  }
  if (probabilities.size(0) == 0) throw Error(ErrorCode::kInvalidArgument, "expected at least one row of probabilities but received none");
  if (task == Task::kBinary && probabilities.size(1) != 2) {
    throw Error(ErrorCode::kInvalidArgument, "a binary task expects probabilities [N, 2] (softmax; column 1 = positive class) but received " +
                                                 shapeString(probabilities.sizes()));
  }
  if (task == Task::kMulticlass && probabilities.size(1) < 2) {
    throw Error(ErrorCode::kInvalidArgument, "a multiclass task expects probabilities [N, K] with K ≥ 2 but received " + shapeString(probabilities.sizes()));
  }
}

/** Throws kNonFinite / kInvalidArgument naming the first bad value. */
void checkValues(const double* values, int64_t n, int64_t k) {
  for (int64_t i = 0; i < n * k; ++i) {
    const double v = values[i];
    if (!std::isfinite(v)) {
      throw Error(ErrorCode::kNonFinite, "probabilities hold NaN or infinite values (first at row " + std::to_string(i / k) + ", column " +
                                             std::to_string(i % k) + "); a model whose outputs are not finite cannot be evaluated");
    }
    if (v < 0 || v > 1) {
      throw Error(ErrorCode::kInvalidArgument, "expected probabilities in [0, 1] but row " + std::to_string(i / k) + ", column " + std::to_string(i % k) +
                                                   " is " + std::to_string(v) + " (logits? apply softmax or sigmoid first)");
    }
  }
}

Prepared prepare(const at::Tensor& probabilities, const at::Tensor& labels, Task task) {
  checkProbabilities(probabilities, task);
  Prepared p;
  p.task = task;
  p.n = probabilities.size(0);
  p.k = probabilities.size(1);
  at::Tensor probs = probabilities.to(at::kCPU, at::kDouble).contiguous();
  const double* pp = probs.data_ptr<double>();
  checkValues(pp, p.n, p.k);
  if (at::isFloatingType(labels.scalar_type()) || at::isComplexType(labels.scalar_type())) {
    throw Error(ErrorCode::kInvalidArgument, std::string("expected integer labels but received ") + c10::toString(labels.scalar_type()));
  }
  at::Tensor y = labels.to(at::kCPU, at::kLong).contiguous();
  const int64_t* yp = y.data_ptr<int64_t>();

  if (task == Task::kMultilabel) {
    if (y.dim() != 2 || y.size(0) != p.n || y.size(1) != p.k) {
      throw Error(ErrorCode::kInvalidArgument, "a multilabel task expects labels [N, K] = [" + std::to_string(p.n) + ", " + std::to_string(p.k) +
                                                   "] (0/1) but received " + shapeString(y.sizes()));
    }
    p.truthBits.assign(static_cast<size_t>(p.k), std::vector<uint8_t>(static_cast<size_t>(p.n)));
    p.predictedBits.assign(static_cast<size_t>(p.k), std::vector<uint8_t>(static_cast<size_t>(p.n)));
    for (int64_t i = 0; i < p.n; ++i) {
      for (int64_t c = 0; c < p.k; ++c) {
        const int64_t v = yp[i * p.k + c];
        if (v != 0 && v != 1) throw Error(ErrorCode::kInvalidArgument, "multilabel labels must be 0 or 1; row " + std::to_string(i) + ", class " + std::to_string(c) + " is " + std::to_string(v));
        p.truthBits[c][i] = static_cast<uint8_t>(v);
        p.predictedBits[c][i] = pp[i * p.k + c] > kDecisionThreshold ? 1 : 0;
      }
    }
    for (int64_t c = 0; c < p.k; ++c) {
      p.aucClasses.push_back(c);
      p.targets.push_back(p.truthBits[c]);
    }
  } else {
    if (y.dim() != 1 || y.size(0) != p.n) {
      throw Error(ErrorCode::kInvalidArgument, std::string("a ") + taskName(task) + " task expects labels [N] = [" + std::to_string(p.n) +
                                                   "] (class index) but received " + shapeString(y.sizes()));
    }
    p.label.assign(yp, yp + p.n);
    p.predicted.resize(static_cast<size_t>(p.n));
    for (int64_t i = 0; i < p.n; ++i) {
      if (p.label[i] < 0 || p.label[i] >= p.k) {
        throw Error(ErrorCode::kInvalidArgument, "label " + std::to_string(i) + " is " + std::to_string(p.label[i]) + " but there are " + std::to_string(p.k) +
                                                     " classes (probability columns)");
      }
      const double* row = pp + i * p.k;
      if (task == Task::kBinary) {
        p.predicted[i] = row[1] > kDecisionThreshold ? 1 : 0;
      } else {
        int64_t best = 0;
        for (int64_t c = 1; c < p.k; ++c) if (row[c] > row[best]) best = c;  // first of equal maxima
        p.predicted[i] = best;
      }
    }
    if (task == Task::kBinary) p.aucClasses.push_back(1);
    else for (int64_t c = 0; c < p.k; ++c) p.aucClasses.push_back(c);
    for (int64_t c : p.aucClasses) {
      std::vector<uint8_t> target(static_cast<size_t>(p.n));
      for (int64_t i = 0; i < p.n; ++i) target[i] = p.label[i] == c ? 1 : 0;
      p.targets.push_back(std::move(target));
    }
  }
  std::vector<double> column(static_cast<size_t>(p.n));
  for (int64_t c : p.aucClasses) {
    for (int64_t i = 0; i < p.n; ++i) column[i] = pp[i * p.k + c];
    p.ranked.push_back(rankScores(column.data(), p.n));
  }
  return p;
}

void summarise(Estimate& e, const std::vector<double>& values, double confidence) {
  e.resamplesUsed = static_cast<int64_t>(values.size());
  if (values.empty()) return;
  e.ci = percentileInterval(values, confidence);
  e.paper = paperInterval(values);
}

}  // namespace

ClassificationMetrics classificationMetrics(const at::Tensor& probabilities, const at::Tensor& labels, Task task,
                                            const BootstrapOptions& options) {
  if (options.resamples < 0) throw Error(ErrorCode::kInvalidArgument, "expected resamples ≥ 0 but received " + std::to_string(options.resamples));
  if (!(options.confidence > 0 && options.confidence < 1)) {
    throw Error(ErrorCode::kInvalidArgument, "expected a confidence level in (0, 1) but received " + std::to_string(options.confidence));
  }
  Prepared p = prepare(probabilities, labels, task);
  ClassificationMetrics out;
  out.task = task;
  out.samples = p.n;
  out.classes = p.k;
  out.bootstrap = options;

  const size_t aucCount = p.aucClasses.size();
  for (size_t c = 0; c < aucCount; ++c) {
    ClassAuc entry;
    entry.classIndex = p.aucClasses[c];
    for (uint8_t t : p.targets[c]) (t ? entry.positives : entry.negatives) += 1;
    entry.included = entry.positives > 0 && entry.negatives > 0;
    if (!entry.included) {
      entry.reason = entry.positives == 0 ? "no positive labels (0 of " + rowCount(p.n) + "): ROC AUC is undefined"
                                          : "no negative labels (all " + rowCount(p.n) + " positive): ROC AUC is undefined";
      entry.auc.reason = entry.reason;
    }
    p.included.push_back(entry.included);
    out.aucPerClass.push_back(std::move(entry));
  }

  const Values full = evaluate(p, nullptr);
  for (size_t c = 0; c < aucCount; ++c) out.aucPerClass[c].auc.value = full.auc[c];
  out.aucMacro.value = full.aucMacro;
  if (!full.aucMacro) out.aucMacro.reason = "no class has both positive and negative labels";
  out.f1.value = full.f1;
  out.accuracy.value = full.accuracy;
  if (task == Task::kBinary) out.f1Positive.value = full.f1Positive;
  else out.f1Positive.reason = "defined for binary tasks only";

  std::vector<std::vector<double>> aucValues(aucCount);
  std::vector<double> macroValues, pooledValues, f1Values, f1PositiveValues, accuracyValues;
  SampleRng rng(options.seed);
  for (int64_t b = 0; b < options.resamples; ++b) {
    const std::vector<int64_t> counts = rng.resampleCounts(p.n);
    const Values v = evaluate(p, counts.data());
    for (size_t c = 0; c < aucCount; ++c) {
      if (!p.included[c] || !v.auc[c]) continue;
      aucValues[c].push_back(*v.auc[c]);
      pooledValues.push_back(*v.auc[c]);
    }
    if (v.aucMacro) macroValues.push_back(*v.aucMacro);
    f1Values.push_back(v.f1);
    accuracyValues.push_back(v.accuracy);
    if (task == Task::kBinary) f1PositiveValues.push_back(v.f1Positive);
  }
  for (size_t c = 0; c < aucCount; ++c) summarise(out.aucPerClass[c].auc, aucValues[c], options.confidence);
  summarise(out.aucMacro, macroValues, options.confidence);
  // The reference's NIH interval: mean and std over the flattened resamples × classes array.
  if (!pooledValues.empty() && task != Task::kBinary) out.aucMacro.paper = paperInterval(pooledValues);
  summarise(out.f1, f1Values, options.confidence);
  summarise(out.accuracy, accuracyValues, options.confidence);
  if (task == Task::kBinary) summarise(out.f1Positive, f1PositiveValues, options.confidence);
  return out;
}

std::optional<double> macroRocAuc(const at::Tensor& probabilities, const at::Tensor& labels, Task task) {
  BootstrapOptions none;
  none.resamples = 0;
  return classificationMetrics(probabilities, labels, task, none).aucMacro.value;
}

}  // namespace imlm::analysis

#include "core/analysis/classification_rows.h"

#include <cmath>
#include <string>

#include <ATen/Functions.h>

#include "core/errors.h"
#include "core/tensor_io.h"

namespace imlm::analysis {
namespace {

// Above this, a sigmoid or binary positive probability predicts the class (argmax's tie rule:
// exactly 0.5 predicts the negative, like numpy.argmax picking the first of equal columns).
constexpr double kDecisionThreshold = 0.5;

double classF1(int64_t tp, int64_t fp, int64_t fn) {
  const int64_t denominator = 2 * tp + fp + fn;
  return denominator == 0 ? 0.0 : 2.0 * static_cast<double>(tp) / static_cast<double>(denominator);
}

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

}  // namespace

RowValues evaluateRows(const PreparedRows& p, const int64_t* weights) {
  RowValues v;
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

PreparedRows prepareRows(const at::Tensor& probabilities, const at::Tensor& labels, Task task) {
  checkProbabilities(probabilities, task);
  PreparedRows p;
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
  for (const std::vector<uint8_t>& target : p.targets) {
    int64_t positives = 0;
    for (uint8_t t : target) positives += t;
    p.included.push_back(positives > 0 && positives < p.n);
  }
  return p;
}

}  // namespace imlm::analysis

// Linear probing on frozen features: a linear head (logits = x·Wᵀ + b) trained for each point
// of a small weight-decay / learning-rate sweep, each point scored on the validation split with
// the selection metric, the best one kept (moco#74: a linear probe's result depends strongly on
// these, so they are chosen on validation data, never on test). Objective per point:
// mean loss (softmax cross-entropy; sigmoid BCE for multilabel) + weightDecay/2 · ‖W‖².
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "core/eval/progress.h"
#include "core/eval/selection_metric.h"
#include "core/task.h"

namespace imlm::eval {

enum class HeadMethod {
  kLbfgs,  // full-batch L-BFGS with a strong-Wolfe line search (no learning rate to tune)
  kAdam,   // mini-batch Adam, `epochs` passes in a seeded order (the reference's optimiser)
};

struct SweepPoint {
  double lr = 1e-3;  // Adam only
  double weightDecay = 0.0;
};

struct LinearProbeOptions {
  Task task = Task::kMulticlass;
  Metric metric = Metric::kAccuracy;
  int64_t numClasses = 2;  // K (binary: 2; multilabel: L)
  HeadMethod method = HeadMethod::kLbfgs;
  std::vector<SweepPoint> sweep{SweepPoint{}};
  int64_t maxIterations = 200;  // L-BFGS iterations per point
  int64_t epochs = 30;          // Adam
  int64_t batchSize = 256;      // Adam
  bool standardize = true;      // z-score features with the training rows' mean and std
  uint64_t seed = 0;            // Adam's batch order (the same for every point)
};

struct LinearHead {
  at::Tensor weight;  // F32 [K, F]
  at::Tensor bias;    // F32 [K]
  at::Tensor mean;    // F32 [F]: subtracted before the head (zeros without standardisation)
  at::Tensor scale;   // F32 [F]: divides after the mean (ones without standardisation)
};

struct PointResult {
  SweepPoint point;
  double valMetric = 0;
  double trainLoss = 0;  // the objective at the end
  double seconds = 0;
};

struct LinearProbeResult {
  std::vector<PointResult> points;
  int64_t chosen = 0;  // index into points
  LinearHead head;     // the chosen point's head
  at::Tensor valProbabilities;   // [N_val, K]
  at::Tensor testProbabilities;  // [N_test, K]; undefined without test features
};

/** Rows `index` (I64) of the training features, on the head's device: cached rows or a backbone forward. */
using FeatureRows = std::function<at::Tensor(const at::Tensor& index)>;

/** Labels as the loss wants them: I64 [N] class indices, or F32 [N, L] for multilabel. */
at::Tensor lossTargets(const at::Tensor& labels, Task task, const c10::Device& device);

/** softmax (multiclass, binary) or sigmoid (multilabel) of the head on features [N, F]. */
at::Tensor headProbabilities(const LinearHead& head, const at::Tensor& features, Task task);

struct HeadFit {
  at::Tensor weight;
  at::Tensor bias;
  double objective = 0;
};

/** Trains one head (one sweep point) from zero weights; `targets` from lossTargets. */
HeadFit trainHead(const FeatureRows& rows, int64_t rowCount, int64_t featureDim, const at::Tensor& targets,
                  const SweepPoint& point, const LinearProbeOptions& options, const c10::Device& device,
                  const EvalProgressFn& progress, const std::atomic<bool>* cancel);

/**
 * The whole probe on cached features (F32 [N, F] each, any device): standardise, train every
 * sweep point, score each on validation, keep the best (the first of equals), predict test.
 */
LinearProbeResult fitLinearProbe(const at::Tensor& trainX, const at::Tensor& trainY, const at::Tensor& valX,
                                 const at::Tensor& valY, const at::Tensor& testX, const LinearProbeOptions& options,
                                 const c10::Device& device, const EvalProgressFn& progress, const std::atomic<bool>* cancel);

}  // namespace imlm::eval

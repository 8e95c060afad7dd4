// SyncBatchNorm: batch norm whose training-mode statistics are those of the global batch (every
// rank's samples), as torch.nn.SyncBatchNorm computes them — the alternative to MoCo's
// shuffle-BN (DistOptions::syncBn). The model keeps its BatchNorm modules, names and buffers
// (core/models/batch_norm.h); while a SyncBatchNormScope is open on the forward thread, their
// training-mode forward comes here.
#pragma once

#include <cstdint>
#include <optional>

#include <ATen/core/Tensor.h>

#include "core/distributed/process_group.h"

namespace imlm::dist {

/** Makes `group` the sync group of batch norms run on this thread until the scope closes. */
class SyncBatchNormScope {
 public:
  explicit SyncBatchNormScope(ProcessGroup* group);
  ~SyncBatchNormScope();
  SyncBatchNormScope(const SyncBatchNormScope&) = delete;
  SyncBatchNormScope& operator=(const SyncBatchNormScope&) = delete;

 private:
  ProcessGroup* previous_;
};

/** The group of the innermost open scope on this thread, or null. */
ProcessGroup* syncBatchNormGroup();

/** A BatchNorm module's state, as torch::nn keeps it (weight/bias undefined when not affine). */
struct BatchNormState {
  at::Tensor weight;
  at::Tensor bias;
  at::Tensor runningMean;  // undefined when running statistics are not tracked
  at::Tensor runningVar;
  at::Tensor numBatchesTracked;
  std::optional<double> momentum;  // nullopt: cumulative moving average
  double eps = 1e-5;
};

/**
 * Training-mode batch norm of x ([N, C] or [N, C, *]) over the global batch: per-channel sums
 * and counts all-reduced, then the sums of squared deviations from the global mean — both
 * differentiably (the backward all-reduces their gradients, so each rank's inputs get the
 * gradient of the global batch's loss); running statistics updated from the global mean and
 * unbiased variance on every rank alike.
 * Statistics in float32 whatever x's dtype (autocast); the result has x's dtype.
 */
at::Tensor syncBatchNorm(ProcessGroup& group, const at::Tensor& x, const BatchNormState& state);

}  // namespace imlm::dist

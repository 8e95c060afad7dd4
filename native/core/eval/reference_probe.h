// The reference's way of linear probing, kept for the benchmark (npm run bench:eval): the
// frozen backbone runs over every training batch of every epoch (and over the validation set
// for every sweep point) instead of once. It runs in eval mode like the cached probe, so both
// give the same head; only the time differs.
#pragma once

#include <atomic>

#include "core/eval/linear_probe.h"
#include "core/models/resnet.h"

namespace imlm::eval {

struct ThroughBackboneInputs {
  int64_t block = 4;           // 1..4: whose pooled output the head reads
  at::Tensor trainImages;      // U8 [n, C, H, W]
  at::Tensor trainLabels;
  at::Tensor valImages;
  at::Tensor valLabels;
  int64_t imageSize = 0;       // 0: as stored
  int64_t valBatchSize = 256;  // forward batch for the validation pass
};

/** Mini-batch probe (options.method must be kAdam) whose features come from a backbone forward per batch. */
LinearProbeResult fitLinearProbeThroughBackbone(models::ResNetImpl& model, const ThroughBackboneInputs& inputs,
                                                const LinearProbeOptions& options, const c10::Device& device,
                                                const EvalProgressFn& progress, const std::atomic<bool>* cancel);

}  // namespace imlm::eval

// Features of a frozen network: one pass over the images in eval mode (BatchNorm uses its
// running statistics and nothing is updated: the reference's probes ran the frozen backbone in
// train mode, docs/method.md Q14), without gradients, in batches.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "core/eval/progress.h"
#include "core/models/resnet.h"

namespace imlm::eval {

struct FeatureOptions {
  int64_t batchSize = 256;
  int64_t imageSize = 0;  // 0: as stored; otherwise bilinear resize to imageSize² (what training saw)
  bool embedding = true;  // also return the L2-normalised head output
};

struct Features {
  std::array<at::Tensor, 4> blocks;  // F32 [N, C_k] on the CPU: global-average-pooled layer1..4
  at::Tensor embedding;              // F32 [N, D], L2-normalised; undefined when not asked for
};

/**
 * images U8 (0..255) or F32 (0..1) [N, C, H, W] → float [n, C, s, s] on `device`, divided by 255
 * and resized when `imageSize` > 0 and differs (no normalisation: the paper uses none).
 */
at::Tensor prepareImages(const at::Tensor& images, int64_t imageSize, const c10::Device& device);

/** Global average pool of each block output: [N, C, H, W] → [N, C]. */
std::array<at::Tensor, 4> pooledBlocks(const std::array<at::Tensor, 4>& blocks);

/** Runs `model` (on `device`, put in eval mode) over all images; progress after every batch. */
Features extractFeatures(models::ResNetImpl& model, const at::Tensor& images, const c10::Device& device,
                         const FeatureOptions& options, const EvalProgressFn& progress, const std::atomic<bool>* cancel);

}  // namespace imlm::eval

// Where the trainer's view pairs come from. A source is pulled by the trainer on its worker
// thread, one batch per step; the datasets issue adds the on-disk store and the full
// augmentation pipeline behind the same interface.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "core/augment/augment.h"

namespace imlm::train {

struct ViewBatch {
  at::Tensor query;  // N×C×H×W float32 in [0, 1]
  at::Tensor key;    // N×C×H×W float32 in [0, 1]
};

/**
 * Sources are pure functions of the global step index (and their seed): the batch of step t is
 * the same whether or not the run was interrupted and resumed before t, so resuming needs no
 * data-loader state in the checkpoint.
 */
class BatchSource {
 public:
  virtual ~BatchSource() = default;
  /** The views for global step `step` (0-based: the number of steps completed before it). */
  virtual ViewBatch batch(int64_t step) = 0;
  /**
   * The host stage of step `step` alone: the images gathered for it, before augmentation, in
   * page-locked (pinned) memory when the source stages onto a GPU. For measuring how fast the
   * host can feed a device (npm run bench:feed); sources without a host stage throw
   * kInvalidArgument.
   */
  virtual at::Tensor hostBatch(int64_t step);
  /** The first step this source cannot serve, or -1 if it never runs out. */
  virtual int64_t endStep() const { return -1; }
  virtual std::string describe() const = 0;
};

/**
 * This process's share of each global batch in a data-parallel run: every rank walks the same
 * seeded permutation, and rank r takes the r-th of `worldSize` equal slices of each global batch,
 * so W ranks × batch B/W see exactly the samples one process with batch B sees, at any W (a
 * resumed run may change W). Augmentation draws are per (step, rank).
 */
struct Shard {
  int64_t rank = 0;
  int64_t worldSize = 1;
};

/**
 * Images held in memory (uint8 0..255 or float 0..1, M×C×H×W). Epoch e visits the images in
 * a permutation drawn from (seed, e), dropping the last incomplete batch; each batch gets two
 * views augmented independently with `policy` (core/augment), drawn from (seed, step).
 */
std::unique_ptr<BatchSource> makeTensorSource(at::Tensor images, int64_t batchSize, const augment::AugmentPolicy& policy,
                                              uint64_t seed, Shard shard = {},
                                              c10::Device augmentDevice = c10::Device(c10::kCPU));

/**
 * A built-in synthetic data set: `poolSize` random smooth images of policy.outputSize² (drawn
 * once from `seed`), served through the same augmentation as makeTensorSource. The task is learnable (tell the
 * images apart), so the loss falls.
 */
std::unique_ptr<BatchSource> makeSyntheticSource(int64_t poolSize, int64_t channels, int64_t batchSize,
                                                 const augment::AugmentPolicy& policy, uint64_t seed, Shard shard = {});

/**
 * Fixed pre-augmented batches q, k: S×N×C×H×W; step firstStep + i gets batch i (replay), or
 * with a shard its rank's slice of the N.
 */
std::unique_ptr<BatchSource> makeFixedBatchesSource(at::Tensor queries, at::Tensor keys, int64_t firstStep,
                                                    Shard shard = {});

}  // namespace imlm::train

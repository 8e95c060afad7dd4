#include "core/train/batch_source.h"

#include <mutex>

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>
#include <ATen/core/Generator.h>
#include <ATen/CPUGeneratorImpl.h>

#include "core/errors.h"
#include "core/step_generator.h"
#include "core/train/device_staging.h"

namespace imlm::train {
namespace {

constexpr uint64_t kEpochStream = 1;    // permutation of epoch e
constexpr uint64_t kAugmentStream = 2;  // augmentation of step t (one process)
constexpr uint64_t kShardAugmentStream = 3;  // augmentation of (step t, rank r) across ranks

/** Checks a shard against the global batch size it divides. */
int64_t perRankBatch(const Shard& shard, int64_t globalBatch) {
  if (shard.worldSize < 1 || shard.rank < 0 || shard.rank >= shard.worldSize) {
    throw Error(ErrorCode::kInvalidArgument, "expected 0 <= rank < worldSize but received rank " +
                                                 std::to_string(shard.rank) + " of " + std::to_string(shard.worldSize));
  }
  if (globalBatch % shard.worldSize != 0) {
    throw Error(ErrorCode::kInvalidArgument, "the global batch size " + std::to_string(globalBatch) +
                                                 " must be divisible by the number of ranks, " +
                                                 std::to_string(shard.worldSize));
  }
  return globalBatch / shard.worldSize;
}

std::string describeShard(const Shard& shard) {
  if (shard.worldSize == 1) return "";
  return ", rank " + std::to_string(shard.rank) + " of " + std::to_string(shard.worldSize);
}

class TensorSource : public BatchSource {
 public:
  TensorSource(at::Tensor images, int64_t batchSize, const augment::AugmentPolicy& policy, uint64_t seed, Shard shard,
               c10::Device augmentDevice)
      : images_(std::move(images)), batchSize_(batchSize), policy_(policy), seed_(seed), shard_(shard),
        localBatch_(perRankBatch(shard, batchSize)), augmentDevice_(augmentDevice) {
    if (images_.dim() != 4) {
      throw Error(ErrorCode::kInvalidArgument, "expected images of shape [M, C, H, W] but received " +
                                                   std::to_string(images_.dim()) + " dimensions");
    }
    if (images_.size(0) < batchSize_) {
      throw Error(ErrorCode::kInvalidArgument, "the data set has " + std::to_string(images_.size(0)) +
                                                   " images, fewer than one batch of " + std::to_string(batchSize_));
    }
    if (images_.scalar_type() != at::kByte && images_.scalar_type() != at::kFloat) {
      throw Error(ErrorCode::kInvalidArgument, "expected uint8 or float32 images");
    }
  }

  ViewBatch batch(int64_t step) override {
    const int64_t perEpoch = images_.size(0) / batchSize_;  // drop_last
    const int64_t epoch = step / perEpoch;
    at::Tensor order;
    {
      // Prefetching calls this from several threads: the cached permutation is shared state.
      std::lock_guard<std::mutex> lock(orderMutex_);
      if (epoch != epoch_) {
        at::Generator g = generatorFor(seed_, kEpochStream, epoch);
        order_ = at::randperm(images_.size(0), g, at::TensorOptions().dtype(at::kLong));
        epoch_ = epoch;
      }
      order = order_;
    }
    const int64_t first = (step % perEpoch) * batchSize_ + shard_.rank * localBatch_;
    at::Tensor index = order.slice(0, first, first + localBatch_);
    // uint8 stays uint8: augmentation reads bytes directly (a quarter of the memory traffic).
    at::Tensor batch = images_.index_select(0, index);
    at::Generator g = shard_.worldSize == 1
                          ? generatorFor(seed_, kAugmentStream, step)
                          : generatorFor(seed_, kShardAugmentStream, step * shard_.worldSize + shard_.rank);
    // On a GPU the gathered bytes travel through pinned memory on a side stream and are
    // augmented there; on the CPU this is a plain call.
    return stageOnDevice(batch, augmentDevice_, [&](const at::Tensor& onDevice) {
      at::Tensor query = augment::augmentBatch(onDevice, policy_, g).images;
      at::Tensor key = augment::augmentBatch(onDevice, policy_, g).images;
      return ViewBatch{query, key};
    });
  }

  std::string describe() const override {
    return "in-memory images (" + std::to_string(images_.size(0)) + describeShard(shard_) + ")";
  }

 private:
  at::Tensor images_;
  int64_t batchSize_;
  augment::AugmentPolicy policy_;
  uint64_t seed_;
  Shard shard_;
  int64_t localBatch_;
  c10::Device augmentDevice_;
  std::mutex orderMutex_;
  at::Tensor order_;  // permutation of epoch_ (cached: consecutive steps share it)
  int64_t epoch_ = -1;
};

class FixedBatchesSource : public BatchSource {
 public:
  FixedBatchesSource(at::Tensor queries, at::Tensor keys, int64_t firstStep, Shard shard)
      : queries_(std::move(queries)), keys_(std::move(keys)), firstStep_(firstStep), shard_(shard) {
    if (queries_.dim() != 5 || !queries_.sizes().equals(keys_.sizes())) {
      throw Error(ErrorCode::kInvalidArgument,
                  "expected q and k of the same shape [S, N, C, H, W]");
    }
    localBatch_ = perRankBatch(shard_, queries_.size(1));
  }
  ViewBatch batch(int64_t step) override {
    const int64_t i = step - firstStep_;
    if (i < 0 || i >= queries_.size(0)) {
      throw Error(ErrorCode::kInvalidArgument, "no fixed batch for step " + std::to_string(step));
    }
    const int64_t first = shard_.rank * localBatch_;
    return {queries_[i].narrow(0, first, localBatch_).to(at::kFloat), keys_[i].narrow(0, first, localBatch_).to(at::kFloat)};
  }
  int64_t endStep() const override { return firstStep_ + queries_.size(0); }
  std::string describe() const override {
    return std::to_string(queries_.size(0)) + " fixed batches" + describeShard(shard_);
  }

 private:
  at::Tensor queries_;
  at::Tensor keys_;
  int64_t firstStep_;
  Shard shard_;
  int64_t localBatch_ = 0;
};

}  // namespace

std::unique_ptr<BatchSource> makeTensorSource(at::Tensor images, int64_t batchSize, const augment::AugmentPolicy& policy,
                                              uint64_t seed, Shard shard, c10::Device augmentDevice) {
  return std::make_unique<TensorSource>(std::move(images), batchSize, policy, seed, shard, augmentDevice);
}

std::unique_ptr<BatchSource> makeSyntheticSource(int64_t poolSize, int64_t channels, int64_t batchSize,
                                                 const augment::AugmentPolicy& policy, uint64_t seed, Shard shard) {
  const int64_t imageSize = policy.outputSize;
  // Smooth random images: low-resolution noise upsampled, so crops of one image resemble each
  // other more than they resemble other images.
  at::Generator generator = generatorFor(seed, /*stream=*/0, /*index=*/0);
  const int64_t coarse = std::max<int64_t>(2, imageSize / 4);
  at::Tensor noise = at::rand({poolSize, channels, coarse, coarse}, generator, at::TensorOptions().dtype(at::kFloat));
  at::Tensor images = at::upsample_bilinear2d(noise, {imageSize, imageSize}, /*align_corners=*/false);
  return std::make_unique<TensorSource>(images.contiguous(), batchSize, policy, seed, shard, c10::Device(c10::kCPU));
}

std::unique_ptr<BatchSource> makeFixedBatchesSource(at::Tensor queries, at::Tensor keys, int64_t firstStep, Shard shard) {
  return std::make_unique<FixedBatchesSource>(std::move(queries), std::move(keys), firstStep, shard);
}

}  // namespace imlm::train

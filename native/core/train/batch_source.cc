#include "core/train/batch_source.h"

#include <cstring>
#include <mutex>

#include <ATen/Parallel.h>

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

/**
 * Host buffers for gathered batches, reused once nobody else holds them — what the CUDA caching
 * host allocator does for pinned memory, for pageable memory too: a fresh 10–40 MB buffer per
 * batch costs a page fault per 4 KiB on first touch, which halved the host feed (bench:feed).
 */
class BufferRing {
 public:
  explicit BufferRing(size_t capacity) : capacity_(capacity) {}

  at::Tensor acquire(at::IntArrayRef shape, const at::TensorOptions& options) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const at::Tensor& t : buffers_) {
      // use_count 1: only the ring holds it (the batch made from it is gone, its copy done).
      if (t.use_count() == 1 && t.sizes().equals(shape) && t.scalar_type() == options.dtype().toScalarType() &&
          t.is_pinned() == options.pinned_memory()) {
        return t;
      }
    }
    at::Tensor fresh = at::empty(shape, options);
    if (buffers_.size() < capacity_) buffers_.push_back(fresh);
    return fresh;
  }

 private:
  size_t capacity_;
  std::mutex mutex_;
  std::vector<at::Tensor> buffers_;
};

/**
 * images[index] (rows of a contiguous M×… tensor) into a buffer from `ring`, pinned when asked:
 * one memcpy per row from the (memory-mapped) store straight into the buffer the device copies
 * from, rows split over the intra-op threads. Index values come from the epoch's permutation
 * (0 ≤ i < M).
 */
at::Tensor gatherRows(const at::Tensor& images, const at::Tensor& index, bool pinned, BufferRing& ring) {
  std::vector<int64_t> shape = images.sizes().vec();
  shape[0] = index.size(0);
  at::Tensor out = ring.acquire(shape, images.options().pinned_memory(pinned));
  const int64_t rowBytes = images.numel() / std::max<int64_t>(images.size(0), 1) * images.element_size();
  const auto* from = static_cast<const uint8_t*>(images.data_ptr());
  auto* to = static_cast<uint8_t*>(out.data_ptr());
  const at::Tensor rows = index.contiguous();
  const int64_t* row = rows.data_ptr<int64_t>();
  at::parallel_for(0, index.size(0), 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) std::memcpy(to + i * rowBytes, from + row[i] * rowBytes, rowBytes);
  });
  return out;
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
    if (!images_.is_contiguous()) images_ = images_.contiguous();
  }

  at::Tensor hostBatch(int64_t step) override {
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
    // uint8 stays uint8: augmentation reads bytes directly (a quarter of the memory traffic).
    // Bound for a GPU, the rows land in pinned memory, from which the device copies directly.
    return gatherRows(images_, order.slice(0, first, first + localBatch_), augmentDevice_.is_cuda(), buffers_);
  }

  ViewBatch batch(int64_t step) override {
    const at::Tensor batch = hostBatch(step);
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
  // The batch in use, the prefetched ones (2 by default) and one being filled.
  BufferRing buffers_{4};
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

at::Tensor BatchSource::hostBatch(int64_t) {
  throw Error(ErrorCode::kInvalidArgument, describe() + " has no host stage to measure");
}

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

// Feeding an accelerator from background threads without stalling the trainer (issue 4, the
// prefetcher): the gathered uint8 batch goes host → pinned memory → device on a side stream,
// is augmented there (the tensor path of core/augment), and the background thread — not the
// trainer — waits for that stream. The trainer then adopts the tensors on its own stream.
// Written against c10's device-generic stream API, so it compiles without CUDA headers and
// against LibTorch 1.13 and 2.x alike; on the CPU it is never used.
#pragma once

#include <functional>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "core/train/batch_source.h"

namespace imlm::train {

/**
 * Runs `work` on a copy of `host` placed on `device` (CUDA): copied through pinned memory with a
 * non-blocking copy on a stream from the device's pool, `work` enqueued on the same stream, the
 * stream synchronised on the calling thread. The returned tensors are complete.
 */
ViewBatch stageOnDevice(const at::Tensor& host, const c10::Device& device,
                        const std::function<ViewBatch(const at::Tensor&)>& work);

/**
 * For the consumer, before it uses a batch made on another stream: records the batch's memory
 * as in use by the consumer's current stream, so the caching allocator does not give it back to
 * the side stream while the consumer's kernels may still read it. No-op for CPU tensors.
 */
void adoptOnCurrentStream(const ViewBatch& batch);

}  // namespace imlm::train

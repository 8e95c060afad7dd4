// Progress and cancellation shared by the evaluation loops: a callback the bridge forwards to
// JavaScript, and an atomic flag checked between batches (cancelling throws kCancelled).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include <ATen/Parallel.h>

#include "core/errors.h"

namespace imlm::eval {

struct EvalProgress {
  std::string stage;  // "features", "fit", "train", "predict"
  int64_t done = 0;
  int64_t total = 0;
  double value = 0;   // stage-specific: the loss while training, the metric after a sweep point
};

using EvalProgressFn = std::function<void(const EvalProgress&)>;

inline void throwIfCancelled(const std::atomic<bool>* cancel) {
  if (cancel != nullptr && cancel->load()) throw Error(ErrorCode::kCancelled, "cancelled by the caller");
}

/**
 * Intra-op threads are per calling thread in OpenMP builds and evaluation runs on whichever libuv
 * worker picks it up: set them at the start of every task (0: one per core).
 */
inline void useIntraOpThreads(int64_t requested) {
  const int64_t cores = std::max<int64_t>(1, std::thread::hardware_concurrency());
  at::set_num_threads(static_cast<int>(requested > 0 ? requested : cores));
}

}  // namespace imlm::eval

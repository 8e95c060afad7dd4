// Progress and cancellation shared by the evaluation loops: a callback the bridge forwards to
// JavaScript, and an atomic flag checked between batches (cancelling throws kCancelled).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "core/errors.h"
#include "core/threads.h"

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

using imlm::useIntraOpThreads;  // core/threads.h

}  // namespace imlm::eval

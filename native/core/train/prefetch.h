// A source wrapper that computes the next batches on background threads while the trainer
// runs the current step, so the trainer does not wait on gathering and augmentation. Batches
// are pure functions of the step (batch_source.h), so prefetching cannot change what a step sees.
#pragma once

#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <utility>

#include "core/train/batch_source.h"

namespace imlm::train {

class PrefetchingSource : public BatchSource {
 public:
  /** Keeps up to `depth` future batches in flight (depth ≥ 1). */
  PrefetchingSource(std::shared_ptr<BatchSource> inner, int64_t depth);
  ~PrefetchingSource() override;

  ViewBatch batch(int64_t step) override;
  at::Tensor hostBatch(int64_t step) override { return inner_->hostBatch(step); }
  int64_t endStep() const override { return inner_->endStep(); }
  std::string describe() const override;

 private:
  std::shared_ptr<BatchSource> inner_;
  int64_t depth_;
  std::mutex mutex_;  // guards pending_ (batch() may be called from successive worker threads)
  std::deque<std::pair<int64_t, std::future<ViewBatch>>> pending_;
};

}  // namespace imlm::train

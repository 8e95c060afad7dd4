#include "core/train/prefetch.h"

#include <ATen/core/grad_mode.h>

#include "core/errors.h"

namespace imlm::train {

PrefetchingSource::PrefetchingSource(std::shared_ptr<BatchSource> inner, int64_t depth)
    : inner_(std::move(inner)), depth_(depth) {
  if (depth_ < 1) throw Error(ErrorCode::kInvalidArgument, "expected a prefetch depth >= 1");
}

PrefetchingSource::~PrefetchingSource() {
  // Futures from std::async join in their destructors: finish what is in flight.
  std::lock_guard<std::mutex> lock(mutex_);
  pending_.clear();
}

ViewBatch PrefetchingSource::batch(int64_t step) {
  std::lock_guard<std::mutex> lock(mutex_);
  // Drop prefetched batches the caller skipped (a resume, or another run order).
  while (!pending_.empty() && pending_.front().first != step) {
    pending_.front().second.wait();
    pending_.pop_front();
  }
  ViewBatch current;
  if (!pending_.empty()) {
    current = pending_.front().second.get();  // rethrows what the background thread threw
    pending_.pop_front();
  } else {
    current = inner_->batch(step);
  }
  const int64_t end = inner_->endStep();
  int64_t next = pending_.empty() ? step + 1 : pending_.back().first + 1;
  while (static_cast<int64_t>(pending_.size()) < depth_ && (end < 0 || next < end)) {
    std::shared_ptr<BatchSource> inner = inner_;
    pending_.emplace_back(next, std::async(std::launch::async, [inner, next] {
                            at::NoGradGuard noGrad;  // grad mode is per thread
                            return inner->batch(next);
                          }));
    ++next;
  }
  return current;
}

std::string PrefetchingSource::describe() const { return inner_->describe(); }

}  // namespace imlm::train

// Data-parallel gradient averaging, as DDP's reducer does it: the trainable parameters are
// packed (in reverse registration order, roughly the order backward produces their gradients)
// into flat buckets of about `bucketMb`; a hook on each parameter copies its gradient into its
// bucket, and a full bucket starts its asynchronous all-reduce at once, so communication runs
// while backward computes the remaining gradients. Buckets start in order on every rank (c10d
// matches collectives by order). After backward, finish() waits and writes the averages into
// the parameters' .grad.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <ATen/core/Tensor.h>

#include "core/distributed/process_group.h"

namespace imlm::dist {

class GradReducer {
 public:
  GradReducer(std::shared_ptr<ProcessGroup> group, std::vector<at::Tensor> params, double bucketMb);
  ~GradReducer();
  GradReducer(const GradReducer&) = delete;
  GradReducer& operator=(const GradReducer&) = delete;

  /** Arms the hooks for one backward pass (gradients outside begin/finish are left alone). */
  void begin();
  /** Starts the buckets still waiting, waits for all, and sets .grad = mean over ranks. */
  void finish();

 private:
  struct Slot {
    size_t bucket = 0;
    int64_t offset = 0;
    bool ready = false;  // got a gradient in this backward pass
  };
  struct Bucket {
    at::Tensor flat;
    std::vector<size_t> members;
    size_t pending = 0;
    std::unique_ptr<PendingCollective> work;
  };

  void onGradient(size_t index, const at::Tensor& grad);
  void launch(Bucket& bucket);

  std::shared_ptr<ProcessGroup> group_;
  std::vector<at::Tensor> params_;
  std::vector<unsigned> hookHandles_;
  std::vector<Slot> slots_;
  std::vector<Bucket> buckets_;
  size_t nextToLaunch_ = 0;
  bool armed_ = false;
};

}  // namespace imlm::dist

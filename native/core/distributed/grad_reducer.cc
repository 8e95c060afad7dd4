#include "core/distributed/grad_reducer.h"

#include <ATen/Functions.h>
#include <ATen/core/grad_mode.h>

#include "core/errors.h"

namespace imlm::dist {

GradReducer::GradReducer(std::shared_ptr<ProcessGroup> group, std::vector<at::Tensor> params, double bucketMb)
    : group_(std::move(group)), params_(std::move(params)) {
  const int64_t capacityBytes = std::max<int64_t>(1, static_cast<int64_t>(bucketMb * 1024.0 * 1024.0));
  slots_.resize(params_.size());
  int64_t bucketBytes = 0;
  at::ScalarType bucketType = at::kFloat;
  // Sizes first, each bucket's flat buffer allocated once afterwards.
  std::vector<int64_t> bucketNumel;
  std::vector<at::TensorOptions> bucketOptions;
  for (size_t n = params_.size(); n-- > 0;) {
    const at::Tensor& p = params_[n];
    const int64_t bytes = p.numel() * static_cast<int64_t>(p.element_size());
    // A new bucket when the current one is full, or holds another dtype or device.
    const bool fresh = buckets_.empty() || bucketBytes + bytes > capacityBytes || p.scalar_type() != bucketType ||
                       bucketOptions.back().device() != p.device();
    if (fresh) {
      buckets_.emplace_back();
      bucketNumel.push_back(0);
      bucketOptions.push_back(p.options().requires_grad(false));
      bucketBytes = 0;
      bucketType = p.scalar_type();
    }
    slots_[n] = {buckets_.size() - 1, bucketNumel.back(), false};
    buckets_.back().members.push_back(n);
    bucketNumel.back() += p.numel();
    bucketBytes += bytes;
  }
  for (size_t i = 0; i < buckets_.size(); ++i) buckets_[i].flat = at::empty({bucketNumel[i]}, bucketOptions[i]);
  for (size_t n = 0; n < params_.size(); ++n) {
    hookHandles_.push_back(params_[n].register_hook([this, n](const at::Tensor& grad) { onGradient(n, grad); }));
  }
}

GradReducer::~GradReducer() {
  for (size_t n = 0; n < params_.size(); ++n) params_[n].remove_hook(hookHandles_[n]);
}

void GradReducer::begin() {
  at::NoGradGuard noGrad;
  for (Slot& s : slots_) s.ready = false;
  for (Bucket& b : buckets_) {
    b.flat.zero_();  // a parameter without a gradient this step contributes zeros
    b.pending = b.members.size();
    b.work.reset();
  }
  nextToLaunch_ = 0;
  armed_ = true;
}

void GradReducer::onGradient(size_t index, const at::Tensor& grad) {
  if (!armed_ || !grad.defined()) return;
  at::NoGradGuard noGrad;
  Slot& s = slots_[index];
  Bucket& b = buckets_[s.bucket];
  if (b.work) throw Error(ErrorCode::kInternal, "a gradient arrived for a bucket whose all-reduce had started");
  at::Tensor view = b.flat.narrow(0, s.offset, grad.numel());
  if (s.ready) {
    view.add_(grad.reshape({-1}));  // a second gradient for the same parameter (not expected)
    return;
  }
  view.copy_(grad.reshape({-1}));
  s.ready = true;
  if (--b.pending > 0) return;
  // Start every complete bucket up to the first incomplete one: the same order on every rank.
  while (nextToLaunch_ < buckets_.size() && buckets_[nextToLaunch_].pending == 0) launch(buckets_[nextToLaunch_++]);
}

void GradReducer::launch(Bucket& bucket) { bucket.work = group_->allReduceSumAsync(bucket.flat); }

void GradReducer::finish() {
  armed_ = false;
  at::NoGradGuard noGrad;
  while (nextToLaunch_ < buckets_.size()) launch(buckets_[nextToLaunch_++]);
  const double scale = 1.0 / static_cast<double>(group_->size());
  for (Bucket& b : buckets_) {
    b.work->wait();
    b.work.reset();
    b.flat.mul_(scale);
    for (size_t n : b.members) {
      if (!slots_[n].ready) continue;  // no gradient on any rank (same graph everywhere)
      at::Tensor& grad = params_[n].mutable_grad();
      at::Tensor mean = b.flat.narrow(0, slots_[n].offset, params_[n].numel()).view(params_[n].sizes());
      if (grad.defined()) {
        grad.copy_(mean);
      } else {
        // In the parameter's layout (channels_last convs), as autograd makes it in one process:
        // the optimiser's multi-tensor kernels then see equal strides, and the arithmetic
        // (vectorised or not) is the same as with one process.
        grad = at::empty_like(params_[n]).copy_(mean);
      }
    }
  }
}

}  // namespace imlm::dist

#include "core/train/device_staging.h"

#include <c10/core/Stream.h>
#include <c10/core/StreamGuard.h>
#include <c10/core/impl/VirtualGuardImpl.h>

#include "core/errors.h"

namespace imlm::train {

ViewBatch stageOnDevice(const at::Tensor& host, const c10::Device& device,
                        const std::function<ViewBatch(const at::Tensor&)>& work) {
  if (device.is_cpu()) return work(host);
  if (!host.device().is_cpu()) throw Error(ErrorCode::kInvalidArgument, "stageOnDevice expects a host tensor");
  c10::impl::VirtualGuardImpl impl(device.type());
  const c10::Stream side = impl.getStreamFromGlobalPool(device);
  ViewBatch out;
  {
    c10::StreamGuard guard(side);
    // Pinned (page-locked) memory is what lets the copy run asynchronously on the side stream;
    // sources gather straight into it (gatherRows), anything else is copied there first.
    const at::Tensor pinned = host.is_pinned() ? host : host.pin_memory();
    const at::Tensor onDevice = pinned.to(device, /*non_blocking=*/true);
    out = work(onDevice);
    // The pinned buffer must outlive the copy: wait here, on the background thread.
    side.synchronize();
  }
  return out;
}

void adoptOnCurrentStream(const ViewBatch& batch) {
  for (const at::Tensor* t : {&batch.query, &batch.key}) {
    if (!t->defined() || t->device().is_cpu()) continue;
    c10::impl::VirtualGuardImpl impl(t->device().type());
    t->record_stream(impl.getStream(t->device()));
  }
}

}  // namespace imlm::train

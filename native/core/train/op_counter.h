#pragma once
// Counts ATen operator calls (RecordFunction, scope FUNCTION) while an OpCounter is alive, on
// every thread of the process. The trainer takes the counts after each step when a run asks
// for them (RunOptions::countOps): docs/benchmarks.md compares our calls per step with the
// Python reference's (its torch.profiler), the CPU-side proxy for kernel launches on a GPU, and
// a test shows that steps between reports make no device→host read.
#include <cstdint>
#include <map>
#include <string>

#include <ATen/record_function.h>

namespace imlm::train {

/**
 * One operator's calls: all of them; those not made from inside another ATen operator; and
 * those not made from inside a multi-tensor (_foreach_/_fused_) one — on a GPU those run as one
 * kernel over the whole list, on the CPU as a loop of per-tensor calls that `all` counts.
 */
struct OpCount {
  int64_t all = 0;
  int64_t topLevel = 0;
  int64_t outsideMultiTensor = 0;
};

using OpCounts = std::map<std::string, OpCount>;

class OpCounter {
 public:
  OpCounter();
  ~OpCounter();
  OpCounter(const OpCounter&) = delete;
  OpCounter& operator=(const OpCounter&) = delete;

  /** The counts since construction or the previous take(), which starts a new tally. */
  OpCounts take();

 private:
  at::CallbackHandle handle_;
};

/**
 * A device→host read of ours (the metrics at a report step). Recorded as an operator named
 * "imlm::device_to_host", so an OpCounter (and a Kineto trace) sees every one of them, also on
 * the CPU, where the copy itself records nothing that tells it apart from other copies.
 */
at::Tensor readToHost(const at::Tensor& deviceTensor);

}  // namespace imlm::train

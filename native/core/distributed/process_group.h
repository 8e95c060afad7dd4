// A c10d process group behind a small interface: ProcessGroupGloo on the CPU, ProcessGroupNCCL
// on CUDA, rendezvous through c10d's TCPStore on MASTER_ADDR:MASTER_PORT (rank 0 serves it).
// The c10d types stay in process_group.cc, so including this header costs nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "core/distributed/options.h"

namespace imlm::dist {

/** An asynchronous collective in flight; wait() throws kDistributed if it failed. */
class PendingCollective {
 public:
  virtual ~PendingCollective() = default;
  virtual void wait() = 0;
};

class ProcessGroup {
 public:
  /**
   * Joins the run (blocks until all `worldSize` ranks have arrived or the timeout passes).
   * Throws kDistributed on a failed rendezvous, kDeviceUnavailable for a backend this build lacks.
   */
  static std::shared_ptr<ProcessGroup> connect(const DistOptions& options, const c10::Device& device);
  ~ProcessGroup();

  int64_t rank() const { return rank_; }
  int64_t size() const { return size_; }
  /** "gloo" or "nccl". */
  const std::string& backend() const { return backend_; }

  /** t ← Σ_ranks t, in place, started now; wait() on the result before reading t. */
  std::unique_ptr<PendingCollective> allReduceSumAsync(at::Tensor t);
  void allReduceSum(at::Tensor t);
  /** t ← rank `root`'s t, in place. */
  void broadcast(at::Tensor t, int64_t root = 0);
  /** Every rank's t (same shape on all ranks) concatenated along dim 0 in rank order. */
  at::Tensor allGather(const at::Tensor& t);
  void barrier();

  struct Impl;

 private:
  ProcessGroup() = default;
  std::unique_ptr<Impl> impl_;
  int64_t rank_ = 0;
  int64_t size_ = 1;
  std::string backend_;
};

/** Which backends this build has ("gloo", "nccl"), for `imlm-native info`. */
std::vector<std::string> availableBackends();

/**
 * Broadcasts `tensors` from rank 0, coalesced into one flat buffer per dtype and device (one
 * collective each instead of one per tensor). Used for parameters and buffers at start and on
 * resume.
 */
void broadcastCoalesced(ProcessGroup& group, const std::vector<at::Tensor>& tensors);

}  // namespace imlm::dist

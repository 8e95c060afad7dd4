// One long-lived thread that runs jobs one at a time, in the order they arrive; `call` blocks
// the caller until its job has run and rethrows what the job threw.
//
// Why: in PyTorch 2.x cuDNN's benchmark cache (the v8 API's execution plans) is thread_local, and
// so are the cuDNN and cuBLAS handles and the OpenMP team of the CPU's intra-op pool. A trainer
// whose calls hopped between libuv pool threads re-benchmarked every forward convolution on
// each new thread (the H200 profile in docs/benchmarks.md: cudaDeviceSynchronize and
// cudaMalloc/cudaFree inside the timed steps). Work that keeps per-thread caches warm runs here.
#pragma once
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace imlm {

class SerialThread {
 public:
  SerialThread();
  /** Runs the jobs already queued, then joins the thread. */
  ~SerialThread();
  SerialThread(const SerialThread&) = delete;
  SerialThread& operator=(const SerialThread&) = delete;

  /** Runs `job` on the thread and waits for it; a call from the thread itself runs inline. */
  void call(const std::function<void()>& job);

 private:
  // Shared with the thread, so that an owner destroyed by one of its own jobs (the thread then
  // detaches rather than joining itself) leaves the loop nothing dangling to read.
  struct Queue {
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<std::function<void()>> jobs;
    bool stopping = false;
  };
  static void loop(const std::shared_ptr<Queue>& queue);

  std::shared_ptr<Queue> queue_;
  std::thread thread_;
};

}  // namespace imlm

// Intra-op CPU threads. OpenMP keeps the setting per calling thread, and work runs on whichever
// thread picks it up (a trainer's own thread, a libuv worker): set it at the start of each run.
#pragma once

#include <algorithm>
#include <cstdint>
#include <thread>

#include <ATen/Parallel.h>

namespace imlm {

/** `requested` threads, or one per core for 0. */
inline void useIntraOpThreads(int64_t requested) {
  const int64_t cores = std::max<int64_t>(1, std::thread::hardware_concurrency());
  at::set_num_threads(static_cast<int>(requested > 0 ? requested : cores));
}

}  // namespace imlm

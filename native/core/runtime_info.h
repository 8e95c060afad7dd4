// What this process's LibTorch can do: version, CUDA devices, threads. Plain data for the
// bridge to convert; no N-API here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace imlm {

struct CudaDeviceInfo {
  int index = 0;
  std::string name;
  int64_t totalMemoryBytes = 0;
  int64_t freeMemoryBytes = 0;
  int computeCapabilityMajor = 0;
  int computeCapabilityMinor = 0;
};

struct RuntimeInfo {
  std::string libtorchVersion;        // the distribution's version, found at build time
  std::string libtorchHeaderVersion;  // what the headers declare (Debian: 1.13.0 for 1.13.1)
  std::string libtorchSource;         // how the build found it: env:LIBTORCH, pytorch, system...
  std::string libtorchLibraryPath;    // the libtorch_cpu this process loaded
  bool builtWithCuda = false;         // compiled against a CUDA LibTorch
  bool cudaAvailable = false;         // a CUDA device can be used now
  std::optional<std::string> cudaUnavailableReason;
  std::vector<CudaDeviceInfo> cudaDevices;
  std::optional<int64_t> cudnnVersion;
  int numThreads = 0;
  int numInteropThreads = 0;
  std::string buildType;
  std::string buildSystem;
};

/** Queries LibTorch. On a CUDA machine the first call initialises CUDA (can take a second). */
RuntimeInfo queryRuntimeInfo();

/** The CUDA caching allocator's peaks on one device (torch.cuda.max_memory_allocated/reserved). */
struct DeviceMemoryPeaks {
  int64_t allocatedBytes = 0;
  int64_t reservedBytes = 0;
};

/**
 * The peaks since the last reset of CUDA device `index`, then (when `reset`) a new start; empty
 * in a build without CUDA or when the device does not exist.
 */
std::optional<DeviceMemoryPeaks> deviceMemoryPeaks(int index, bool reset);

}  // namespace imlm

#include "core/runtime_info.h"

#include <dlfcn.h>

#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include "core/compat.h"

#ifdef IMLM_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <cuda_runtime_api.h>
#endif

#ifndef IMLM_LIBTORCH_VERSION
#define IMLM_LIBTORCH_VERSION "unknown"
#endif
#ifndef IMLM_LIBTORCH_SOURCE
#define IMLM_LIBTORCH_SOURCE "unknown"
#endif
#ifndef IMLM_BUILD_TYPE
#define IMLM_BUILD_TYPE "Release"
#endif
#ifndef IMLM_BUILD_SYSTEM
#define IMLM_BUILD_SYSTEM "node-gyp"
#endif

namespace imlm {
namespace {

/** The shared library that defines at::get_num_threads: the libtorch_cpu actually loaded. */
std::string loadedLibraryPath() {
  Dl_info dlInfo{};
  auto* symbol = reinterpret_cast<void*>(&at::get_num_threads);
  if (dladdr(symbol, &dlInfo) != 0 && dlInfo.dli_fname != nullptr) return dlInfo.dli_fname;
  return "unknown";
}

#ifdef IMLM_WITH_CUDA
void addCudaDevices(RuntimeInfo& info) {
  int count = 0;
  cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    int driver = 0;
    int runtime = 0;
    cudaDriverGetVersion(&driver);
    cudaRuntimeGetVersion(&runtime);
    info.cudaUnavailableReason = std::string("CUDA runtime says: ") + cudaGetErrorString(status) +
                                 " (driver supports CUDA " + std::to_string(driver / 1000) + "." +
                                 std::to_string((driver % 1000) / 10) + ", LibTorch was built for CUDA " +
                                 std::to_string(runtime / 1000) + "." +
                                 std::to_string((runtime % 1000) / 10) + ")";
    return;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    CudaDeviceInfo device;
    device.index = i;
    device.name = prop.name;
    device.totalMemoryBytes = static_cast<int64_t>(prop.totalGlobalMem);
    device.computeCapabilityMajor = prop.major;
    device.computeCapabilityMinor = prop.minor;
    size_t freeBytes = 0;
    size_t totalBytes = 0;
    int previous = 0;
    cudaGetDevice(&previous);
    if (cudaSetDevice(i) == cudaSuccess && cudaMemGetInfo(&freeBytes, &totalBytes) == cudaSuccess) {
      device.freeMemoryBytes = static_cast<int64_t>(freeBytes);
    }
    cudaSetDevice(previous);
    info.cudaDevices.push_back(device);
  }
  if (count == 0) info.cudaUnavailableReason = "no CUDA device is visible (check CUDA_VISIBLE_DEVICES)";
}
#endif

}  // namespace

RuntimeInfo queryRuntimeInfo() {
  RuntimeInfo info;
  info.libtorchVersion = IMLM_LIBTORCH_VERSION;
  info.libtorchHeaderVersion = compat::headerVersion();
  info.libtorchSource = IMLM_LIBTORCH_SOURCE;
  info.libtorchLibraryPath = loadedLibraryPath();
  info.numThreads = at::get_num_threads();
  info.numInteropThreads = at::get_num_interop_threads();
  info.buildType = IMLM_BUILD_TYPE;
  info.buildSystem = IMLM_BUILD_SYSTEM;
#ifdef IMLM_WITH_CUDA
  info.builtWithCuda = true;
  addCudaDevices(info);
#else
  info.cudaUnavailableReason =
      "this build links a CPU-only LibTorch (" + info.libtorchLibraryPath +
      "); rebuild against a CUDA LibTorch (e.g. PyTorch with CUDA: see README, 'LibTorch')";
#endif
  info.cudaAvailable = at::globalContext().hasCUDA() && !info.cudaDevices.empty();
  if (info.builtWithCuda && !info.cudaDevices.empty() && !at::globalContext().hasCUDA()) {
    info.cudaUnavailableReason =
        "CUDA devices are visible but libtorch_cuda was not loaded (the addon was linked with "
        "--as-needed?); rebuild with `npm rebuild imlm-native`";
  }
  if (info.cudaAvailable) {
    info.cudaUnavailableReason.reset();
    if (at::globalContext().hasCuDNN()) info.cudnnVersion = at::globalContext().versionCuDNN();
  }
  return info;
}

std::optional<DeviceMemoryPeaks> deviceMemoryPeaks(int index, bool reset) {
#ifdef IMLM_WITH_CUDA
  int count = 0;
  if (!at::globalContext().hasCUDA() || cudaGetDeviceCount(&count) != cudaSuccess || index < 0 || index >= count) {
    return std::nullopt;
  }
  const auto device = static_cast<c10::DeviceIndex>(index);
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device);
  DeviceMemoryPeaks peaks;
  peaks.allocatedBytes = stats.allocated_bytes[0].peak;  // [0]: StatType::AGGREGATE
  peaks.reservedBytes = stats.reserved_bytes[0].peak;
  if (reset) c10::cuda::CUDACachingAllocator::resetPeakStats(device);
  return peaks;
#else
  (void)index;
  (void)reset;
  return std::nullopt;
#endif
}

}  // namespace imlm

// Every difference between the LibTorch versions we build against lives here: Debian
// bookworm's 1.13.1 (CPU, development and CI machines) and the LibTorch inside PyTorch 2.x
// (CUDA servers). Code elsewhere uses these names and never tests versions itself.
#pragma once

#include <vector>

#include <ATen/autocast_mode.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/_foreach_mul.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>
#include <torch/version.h>

// True when the LibTorch headers are at least major.minor. (Debian's 1.13.1 headers say
// 1.13.0; patch levels are never tested for that reason.)
#define IMLM_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) ||       \
   (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace imlm::compat {

/** The LibTorch version the headers declare. */
inline const char* headerVersion() { return TORCH_VERSION; }

// torch._fused_sgd_ (one multi-tensor kernel with AMP's found_inf): CUDA since 2.3, CPU since 2.4.
#if IMLM_TORCH_AT_LEAST(2, 3)
#define IMLM_COMPAT_HAS_FUSED_SGD 1
#endif
/** Whether at::_fused_sgd_ runs on `device` with these headers. */
inline bool hasFusedSgd(const c10::Device& device) {
#if IMLM_TORCH_AT_LEAST(2, 4)
  return device.is_cuda() || device.is_cpu();
#elif IMLM_TORCH_AT_LEAST(2, 3)
  return device.is_cuda();
#else
  return false;
#endif
}

/**
 * tensors[i] *= scale (a 0-d tensor on their device) for every i, with no host read: one
 * multi-tensor op from 2.1 (_foreach_mul_.Tensor); before, the list overload with the scale
 * repeated (broadcast per tensor).
 */
inline void foreachMulByTensor(std::vector<at::Tensor>& tensors, const at::Tensor& scale) {
#if IMLM_TORCH_AT_LEAST(2, 1)
  at::_foreach_mul_(tensors, scale);
#else
  at::_foreach_mul_(tensors, std::vector<at::Tensor>(tensors.size(), scale));
#endif
}

/**
 * CUDA autocast for the lifetime of the guard, on the calling thread (autocast state is
 * thread-local), like `with torch.autocast('cuda', dtype)`. 2.4 replaced the CUDA-only setters
 * with per-device ones.
 */
class CudaAutocastGuard {
 public:
  CudaAutocastGuard(bool enabled, c10::ScalarType dtype) : enabled_(enabled) {
    if (!enabled_) return;
#if IMLM_TORCH_AT_LEAST(2, 4)
    previousEnabled_ = at::autocast::is_autocast_enabled(at::kCUDA);
    previousDtype_ = at::autocast::get_autocast_dtype(at::kCUDA);
    at::autocast::set_autocast_enabled(at::kCUDA, true);
    at::autocast::set_autocast_dtype(at::kCUDA, dtype);
#else
    previousEnabled_ = at::autocast::is_enabled();
    previousDtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_enabled(true);
    at::autocast::set_autocast_gpu_dtype(dtype);
#endif
    at::autocast::increment_nesting();
  }
  ~CudaAutocastGuard() {
    if (!enabled_) return;
    // Leaving the outermost autocast region frees its cache of casted weights.
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
#if IMLM_TORCH_AT_LEAST(2, 4)
    at::autocast::set_autocast_enabled(at::kCUDA, previousEnabled_);
    at::autocast::set_autocast_dtype(at::kCUDA, previousDtype_);
#else
    at::autocast::set_enabled(previousEnabled_);
    at::autocast::set_autocast_gpu_dtype(previousDtype_);
#endif
  }
  CudaAutocastGuard(const CudaAutocastGuard&) = delete;
  CudaAutocastGuard& operator=(const CudaAutocastGuard&) = delete;

 private:
  bool enabled_;
  bool previousEnabled_ = false;
  c10::ScalarType previousDtype_ = c10::ScalarType::Half;
};

}  // namespace imlm::compat

// ---------------------------------------------------------------------------------------------
// c10d (distributed). Only native/core/distributed defines IMLM_COMPAT_C10D before including this
// header, so no other translation unit pays for the c10d and gloo headers.
#if defined(IMLM_COMPAT_C10D)
#include <torch/csrc/distributed/c10d/Store.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>
#if IMLM_TORCH_AT_LEAST(2, 0)
#include <torch/csrc/distributed/c10d/Backend.hpp>
#else
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#endif

// Gloo: Debian's LibTorch has ProcessGroupGloo, but its header includes gloo's own headers,
// packaged apart (libgloo-dev); PyTorch wheels may lack them. Without them the CPU backend is
// compiled out and asking for it says so.
#if __has_include(<gloo/algorithm.h>) && __has_include(<torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>)
#define IMLM_HAVE_GLOO 1
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif

// NCCL: only in CUDA builds whose CMake found nccl.h (IMLM_WITH_NCCL, CMakeLists.txt).
#if defined(IMLM_WITH_NCCL) && __has_include(<torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>)
#define IMLM_HAVE_NCCL 1
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace imlm::compat {

// 2.0 split the c10d ProcessGroup into a dispatching ProcessGroup and per-device Backends:
// ProcessGroupGloo/NCCL became Backends. Both classes carry the same collective methods
// (allreduce, broadcast, allgather, barrier → c10d::Work), so we hold the concrete group as
// whichever base it has.
#if IMLM_TORCH_AT_LEAST(2, 0)
using C10dBackend = c10d::Backend;
#else
using C10dBackend = c10d::ProcessGroup;
#endif

}  // namespace imlm::compat
#endif  // IMLM_COMPAT_C10D

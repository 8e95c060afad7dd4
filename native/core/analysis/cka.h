// Centered kernel alignment between two representations of the same rows (docs/method.md, metrics; the
// reference's CKA.py): K = XXᵀ (linear) or exp(−D²/(2σ²)) with D²ᵢⱼ = ‖xᵢ − xⱼ‖² (RBF);
// HSIC(K, L) = Σ (HKH)∘(HLH), H = I − 11ᵀ/n (the 1/(n−1)² factor cancels);
// CKA = HSIC(K, L) / √(HSIC(K, K)·HSIC(L, L)). All in float64.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include <ATen/core/Tensor.h>

namespace imlm::analysis {

enum class Kernel { kLinear, kRbf };
std::optional<Kernel> kernelFromName(std::string_view name);
const char* kernelName(Kernel kernel);

struct KernelOptions {
  Kernel kernel = Kernel::kLinear;
  /** RBF: an absolute σ (the paper's README: 0.8 on unnormalised features). */
  std::optional<double> sigma;
  /**
   * RBF: σ = f · √(median of the non-zero D²), for each representation on its own rows (the
   * reference's sigma=None is f = 1). Used when `sigma` is not set; default 1.
   */
  double sigmaMedianFraction = 1.0;
};

struct CkaValue {
  double cka = 0;
  std::optional<double> sigmaX;  // RBF: the σ each kernel used
  std::optional<double> sigmaY;
};

/**
 * x: [n, dx], y: [n, dy] (row i of both = the same sample), finite, n ≥ 2. Throws kNonFinite for
 * NaN/Inf and kInvalidArgument when a kernel is constant after centering (CKA undefined).
 */
CkaValue cka(const at::Tensor& x, const at::Tensor& y, const KernelOptions& options);

struct CkaBootstrap {
  std::vector<double> values;  // one CKA per set, in set order
  double mean = 0;
  double std = 0;  // population (ddof 0), as the paper reports
  int64_t sets = 0;
  int64_t setSize = 0;
  uint64_t seed = 0;
};

/**
 * The paper's bootstrap: `sets` sets of `setSize` rows, each drawn without replacement (a fresh
 * seeded partial shuffle per set), CKA on each. Throws kInvalidArgument when n < setSize.
 */
CkaBootstrap ckaBootstrap(const at::Tensor& x, const at::Tensor& y, const KernelOptions& options, int64_t sets, int64_t setSize, uint64_t seed);

}  // namespace imlm::analysis

// BatchNorm1d/2d with torch::nn's options, parameter and buffer names (weight, bias,
// running_mean, running_var, num_batches_tracked) and arithmetic (at::batch_norm), whose
// training-mode forward uses the global batch's statistics while a dist::SyncBatchNormScope is
// open on the forward thread (SyncBatchNorm, DistOptions::syncBn). Outside one they compute what
// torch::nn::BatchNorm computes, so one network serves single-process, shuffle-BN and SyncBN runs.
//
// Our own modules rather than subclasses of torch::nn's: a subclass's vtables need
// BatchNormImplBase<D>::pretty_print, which Debian's LibTorch 1.13 does not export.
#pragma once

#include <cstdint>
#include <ostream>

#include <ATen/core/Tensor.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/options/batchnorm.h>
#include <torch/nn/pimpl.h>

namespace imlm::models {

/** D = 1: inputs [N, C] or [N, C, L]; D = 2: [N, C, H, W]. */
template <int64_t D>
class BatchNormNdImpl : public torch::nn::Cloneable<BatchNormNdImpl<D>> {
 public:
  explicit BatchNormNdImpl(int64_t numFeatures) : BatchNormNdImpl(torch::nn::BatchNormOptions(numFeatures)) {}
  explicit BatchNormNdImpl(const torch::nn::BatchNormOptions& options);

  void reset() override;
  at::Tensor forward(const at::Tensor& x);
  void pretty_print(std::ostream& stream) const override;

  torch::nn::BatchNormOptions options;
  at::Tensor weight;  // undefined (and unregistered) when not affine
  at::Tensor bias;
  at::Tensor running_mean;  // undefined (and unregistered) without running statistics
  at::Tensor running_var;
  at::Tensor num_batches_tracked;
};

extern template class BatchNormNdImpl<1>;
extern template class BatchNormNdImpl<2>;

class BatchNorm1d : public torch::nn::ModuleHolder<BatchNormNdImpl<1>> {
 public:
  using torch::nn::ModuleHolder<BatchNormNdImpl<1>>::ModuleHolder;
};
class BatchNorm2d : public torch::nn::ModuleHolder<BatchNormNdImpl<2>> {
 public:
  using torch::nn::ModuleHolder<BatchNormNdImpl<2>>::ModuleHolder;
};

}  // namespace imlm::models

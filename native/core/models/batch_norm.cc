#include "core/models/batch_norm.h"

#include <optional>
#include <string>

#include <ATen/Context.h>
#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>

#include "core/distributed/sync_batch_norm.h"
#include "core/errors.h"

namespace imlm::models {

template <int64_t D>
BatchNormNdImpl<D>::BatchNormNdImpl(const torch::nn::BatchNormOptions& options) : options(options) {
  reset();
}

template <int64_t D>
void BatchNormNdImpl<D>::reset() {
  const int64_t n = options.num_features();
  if (options.affine()) {
    weight = this->register_parameter("weight", at::ones({n}));
    bias = this->register_parameter("bias", at::zeros({n}));
  }
  if (options.track_running_stats()) {
    running_mean = this->register_buffer("running_mean", at::zeros({n}));
    running_var = this->register_buffer("running_var", at::ones({n}));
    num_batches_tracked = this->register_buffer("num_batches_tracked", at::zeros({}, at::kLong));
  }
}

template <int64_t D>
at::Tensor BatchNormNdImpl<D>::forward(const at::Tensor& x) {
  const bool dimsOk = D == 1 ? (x.dim() == 2 || x.dim() == 3) : x.dim() == 4;
  if (!dimsOk) {
    throw Error(ErrorCode::kInvalidArgument, std::string("BatchNorm") + std::to_string(D) + "d expected a " +
                                                 (D == 1 ? "2D or 3D" : "4D") + " input but received " +
                                                 std::to_string(x.dim()) + "D");
  }
  const auto momentum = options.momentum();  // c10::optional in 1.13, std::optional in 2.x
  if (dist::ProcessGroup* group = dist::syncBatchNormGroup(); group != nullptr && this->is_training()) {
    dist::BatchNormState state{weight, bias, running_mean, running_var, num_batches_tracked,
                               momentum.has_value() ? std::optional<double>(*momentum) : std::nullopt,
                               options.eps()};
    return dist::syncBatchNorm(*group, x, state);
  }
  // torch::nn::BatchNormImplBase::forward, step for step.
  double factor = momentum.has_value() ? *momentum : 0.0;
  if (this->is_training() && options.track_running_stats() && num_batches_tracked.defined()) {
    num_batches_tracked.add_(1);
    factor = momentum.has_value() ? *momentum : 1.0 / num_batches_tracked.template item<double>();
  }
  return at::batch_norm(x, weight, bias, running_mean, running_var,
                        this->is_training() || !options.track_running_stats(), factor, options.eps(),
                        at::globalContext().userEnabledCuDNN());
}

template <int64_t D>
void BatchNormNdImpl<D>::pretty_print(std::ostream& stream) const {
  stream << "imlm::models::BatchNorm" << D << "d(" << options.num_features() << ", eps=" << options.eps()
         << ", affine=" << options.affine() << ", track_running_stats=" << options.track_running_stats() << ")";
}

template class BatchNormNdImpl<1>;
template class BatchNormNdImpl<2>;

}  // namespace imlm::models

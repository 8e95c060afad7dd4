#include "core/losses/layer_mse.h"

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>

namespace imlm::losses {

at::Tensor layerMse(const at::Tensor& q, const at::Tensor& k, int64_t poolSize, double weight) {
  at::Tensor pq = at::adaptive_avg_pool2d(q, {poolSize, poolSize});
  at::Tensor pk = at::adaptive_avg_pool2d(k, {poolSize, poolSize});
  return (pq - pk).pow(2).mean() * weight;
}

}  // namespace imlm::losses

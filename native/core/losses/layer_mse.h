// The intermediate-layer MSE of Kaku et al.: pull the pooled block outputs of the two views
// together. Pure function.
#pragma once

#include <ATen/core/Tensor.h>

namespace imlm::losses {

/**
 * q, k: N×C×H×W block outputs of the two views (k without gradient).
 * Pools both to poolSize×poolSize (adaptive average; 1 = a pooled vector), then
 * weight · mean((q − k)²) over all N·C·poolSize² elements → scalar.
 */
at::Tensor layerMse(const at::Tensor& q, const at::Tensor& k, int64_t poolSize, double weight);

}  // namespace imlm::losses

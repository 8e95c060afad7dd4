// The intermediate-layer MSE of Kaku et al.: pull the pooled block outputs of the two views
// together. A pure function, and the intermediate loss "mse" that applies it to every block.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include <ATen/core/Tensor.h>

namespace imlm::losses {

class IntermediateLoss;
struct IntermediateLossOptions;
struct EncoderBlocks;

/** Per block (layer1…layer4), as config.intermediate.mse (docs/formats.md). */
struct LayerMseOptions {
  std::array<int64_t, 4> poolSizes{};  // each block's map is pooled to poolSize×poolSize
  std::array<double, 4> weights{};
};

/**
 * q, k: N×C×H×W block outputs of the two views (k without gradient).
 * Pools both to poolSize×poolSize (adaptive average; 1 = a pooled vector), then
 * weight · mean((q − k)²) over all N·C·poolSize² elements → scalar.
 */
at::Tensor layerMse(const at::Tensor& q, const at::Tensor& k, int64_t poolSize, double weight);

/** The intermediate loss "mse": layerMse on each block with options.mse's pool size and weight. */
std::unique_ptr<IntermediateLoss> makeLayerMseLoss(const IntermediateLossOptions& options, const EncoderBlocks& encoder);

}  // namespace imlm::losses

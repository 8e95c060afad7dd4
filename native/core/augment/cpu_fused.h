// The CPU path of batched augmentation: every stage (affine resampling, colour jitter in each
// sample's order, grayscale, Gaussian blur) fused per sample, so one image's working set stays in
// cache and no full-batch temporary is made per op. Same formulas and parameters as the tensor
// path in augment.cc (which the GPU uses); tests compare the two.
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

#include "core/augment/augment.h"

namespace imlm::augment::cpu {

/**
 * src: N×C×H×W uint8 (0..255) or float32 (0..1), C = 1 or 3, on the CPU.
 * theta: N×2×3 float64, output → input normalised coordinates (affine_grid's convention,
 * align_corners=false, zeros outside). order: N×4 int64, the jitter ops' order per sample.
 * blurRadius: half-width of every blur kernel (a sample's σ sets its weights).
 * Returns N×C×size×size float32 in [0, 1].
 */
at::Tensor augmentFused(const at::Tensor& src, const at::Tensor& theta, int64_t size, bool nearest,
                        const at::Tensor& order, const AugmentParams& params, int64_t blurRadius);

}  // namespace imlm::augment::cpu

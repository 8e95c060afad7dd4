// The CPU path of batched augmentation: every stage (affine resampling, then each op's fused
// kernel from the table in ops.cc, in table order) fused per sample, so one image's working set
// stays in cache and no full-batch temporary is made per op. Same formulas and parameters as the
// tensor path in augment.cc (which the GPU uses); tests compare the two.
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

#include "core/augment/augment.h"
#include "core/augment/ops.h"

namespace imlm::augment::cpu {

/**
 * src: N×C×H×W uint8 (0..255) or float32 (0..1), C = 1 or 3, on the CPU. draws.theta maps
 * output → input normalised coordinates (affine_grid's convention, align_corners=false, zeros
 * outside). Returns N×C×outputSize×outputSize float32 in [0, 1].
 */
at::Tensor augmentFused(const at::Tensor& src, const AugmentPolicy& policy, const BatchDraws& draws);

}  // namespace imlm::augment::cpu

// Picking samples out of a (memory-mapped) image tensor and turning them into 8-bit interleaved
// pixels that image encoders take — for `imlm-native inspect`'s contact sheets.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace imlm::inspect {

/** images[indices] along dim 0 (a copy; only the selected rows of a mapped file are read). */
at::Tensor selectRows(const at::Tensor& images, const std::vector<int64_t>& indices);

/**
 * N×C×H×W (uint8 0..255, or float 0..1 rounded and clamped) → N×H×W×3 uint8, gray images
 * repeated over the three channels.
 */
at::Tensor toRgbBytes(const at::Tensor& images);

}  // namespace imlm::inspect

// Turning images into 8-bit interleaved pixels that image encoders take — for `imlm-native
// inspect`'s contact sheets (samples are picked with selectRows, core/tensor_io.h).
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace imlm::inspect {

/**
 * N×C×H×W (uint8 0..255, or float 0..1 rounded and clamped) → N×H×W×3 uint8, gray images
 * repeated over the three channels.
 */
at::Tensor toRgbBytes(const at::Tensor& images);

}  // namespace imlm::inspect

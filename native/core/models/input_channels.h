// Fitting torchvision-named weights of another input-channel count (e.g. ImageNet's RGB
// weights) to a network's first convolution, for starting a run from them (Trainer::loadBackbone).
#pragma once

#include <cstdint>
#include <string>

#include "core/io/safetensors.h"

namespace imlm::models {

/** What to do when conv1.weight has another number of input channels than the network. */
enum class InitChannels {
  kRefuse,  // fail with a coded error that names the fix
  kSum,     // [O, C, k, k] → [O, 1, k, k] by summing over the C input channels (1-channel networks only)
};

/**
 * Fits `weights`' conv1.weight to a network taking `inChannels` channels, in place. Weights that
 * already fit, or that have no 4-d conv1.weight, are left for the caller's strict check. With
 * kRefuse a mismatch throws kInvalidArgument naming `--init-channels sum`; with kSum a C-channel
 * conv1 is summed over its input channels when the network takes 1 channel (a sum keeps the
 * response to a grey image, whose channels are equal, the same as the RGB network's), and any
 * other mismatch throws kInvalidArgument. `origin` (a file name) starts every message.
 */
void fitInputChannels(io::TensorMap& weights, int64_t inChannels, InitChannels mode, const std::string& origin);

}  // namespace imlm::models

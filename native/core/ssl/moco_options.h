// What configures MoCo (docs/formats.md, "Configuration"): the queue, the temperature, how the
// batch norms group the batch, and the intermediate loss. The encoders' architecture is
// models::ResNetOptions; the key momentum and its schedule are optim::KeyMomentumOptions.
#pragma once

#include <cstdint>

#include "core/losses/intermediate_loss.h"

namespace imlm::ssl {

struct MocoOptions {
  int64_t queueSize = 0;  // K
  double temperature = 0;
  int64_t shuffleGroups = 0;  // 1: off; G > 1: single-device shuffle-BN emulation
  // 1: off; G > 1: every batch norm (both encoders, the intermediate loss's) normalises G
  // consecutive sub-batches apart, as G data-parallel ranks without shuffle-BN would ("ghost"
  // BN): one process reproduces a G-rank run exactly (test/distributed). A C++ default because
  // configurations written before the field existed lack it, and the bridge then leaves it.
  int64_t bnGroups = 1;
  losses::IntermediateLossOptions intermediate;
};

}  // namespace imlm::ssl

// Learning-rate and key-momentum schedules, as functions of the steps completed (docs/formats.md).
#pragma once

#include <cstdint>

#include "core/train/train_config.h"

namespace imlm::optim {

/** Learning rate for the step after `completed` steps: warm-up, then constant/step/cosine. */
double learningRateAt(const train::OptimizerConfig& config, int64_t totalSteps, int64_t completed);

/** Key-encoder momentum: constant m, or 1 − (1 − m)·(cos(π·t/T) + 1)/2 (BYOL's schedule). */
double keyMomentumAt(const train::TrainConfig& config, int64_t completed);

}  // namespace imlm::optim

// The resolved training configuration as plain data (docs/formats.md, "Configuration"):
// the option structs of what it configures, composed. TypeScript validates it and fills every
// value from a preset (lib/config/train-config.ts, the one home of defaults); the bridge copies
// the JS object into this struct before any work leaves the JS thread. Members therefore start
// at zero/false/empty, except where a configuration may lack a field (said where it happens).
#pragma once

#include <cstdint>
#include <string>

#include "core/models/resnet.h"
#include "core/optim/schedules.h"
#include "core/optim/sgd.h"
#include "core/ssl/moco_options.h"

namespace imlm::train {

enum class Precision { kFp32, kBf16, kFp16 };

/** The optimiser of pre-training: SGD, its learning-rate schedule, gradient clipping. */
struct OptimizerConfig {
  optim::SgdOptions sgd;
  optim::LrScheduleOptions lrSchedule;
  double gradClip = 0;  // 0: off
};

struct TrainConfig {
  models::ResNetOptions backbone;  // both encoders', and the exported backbone's
  ssl::MocoOptions moco;
  optim::KeyMomentumOptions keyMomentum;
  OptimizerConfig optimizer;
  int64_t totalSteps = 0;
  int64_t batchSize = 0;  // global: across ranks each steps on its share
  int64_t imageSize = 0;
  std::string device;
  Precision precision{};
  bool channelsLast = false;
  bool cudnnBenchmark = false;
  // Intra-op CPU threads for training; 0: one per core. Configurations written before the
  // field existed lack it, and the bridge then leaves this 0.
  int64_t threads = 0;
  uint64_t seed = 0;

  /** The configuration as JSON, exactly as TypeScript handed it over (stored in checkpoints). */
  std::string json;
};

}  // namespace imlm::train

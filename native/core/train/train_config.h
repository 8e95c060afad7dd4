// The resolved training configuration as plain data (docs/formats.md, "Configuration").
// TypeScript validates and fills defaults from a preset; the bridge copies the JS object into
// this struct before any work leaves the JS thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/losses/barlow_twins.h"
#include "core/models/resnet.h"

namespace imlm::train {

enum class IntermediateLoss { kNone, kMse, kBarlow };
enum class LrSchedule { kConstant, kStep, kCosine };
enum class MomentumSchedule { kConstant, kCosine };
enum class Precision { kFp32, kBf16, kFp16 };

struct OptimizerConfig {
  double lr = 0.03;
  double momentum = 0.9;
  double weightDecay = 1e-4;
  bool nesterov = false;
  LrSchedule schedule = LrSchedule::kConstant;
  int64_t warmupSteps = 0;
  std::vector<int64_t> milestones;
  double gamma = 0.1;
  double gradClip = 0.0;  // 0: off
};

struct TrainConfig {
  models::ResNetOptions backbone;
  int64_t queueSize = 65536;
  double temperature = 0.07;
  double keyMomentum = 0.999;
  MomentumSchedule keyMomentumSchedule = MomentumSchedule::kConstant;
  int64_t shuffleGroups = 1;  // 1: off; G > 1: single-device shuffle-BN emulation
  // 1: off; G > 1: every batch norm (both encoders, the Barlow projectors) normalises G
  // consecutive sub-batches apart, as G data-parallel ranks without shuffle-BN would ("ghost"
  // BN): one process reproduces a G-rank run exactly (test/distributed).
  int64_t bnGroups = 1;

  IntermediateLoss intermediate = IntermediateLoss::kNone;
  std::array<int64_t, 4> msePoolSizes{16, 16, 4, 4};
  std::array<double, 4> mseWeights{0.25, 0.25, 0.25, 0.25};
  std::array<int64_t, 3> barlowProjectorDims{2048, 2048, 2048};
  losses::BarlowWeights barlow;

  OptimizerConfig optimizer;
  int64_t totalSteps = 1000;
  int64_t batchSize = 32;
  int64_t imageSize = 224;
  std::string device = "auto";
  Precision precision = Precision::kFp32;
  bool channelsLast = false;
  bool cudnnBenchmark = false;
  int64_t threads = 0;  // intra-op CPU threads for training; 0: one per core
  uint64_t seed = 0;

  /** The configuration as JSON, exactly as TypeScript handed it over (stored in checkpoints). */
  std::string json;
};

}  // namespace imlm::train

// Learning-rate and key-momentum schedules, as functions of the steps completed
// (docs/formats.md), and the options that choose them.
#pragma once

#include <cstdint>
#include <vector>

namespace imlm::optim {

enum class LrSchedule { kConstant, kStep, kCosine };

/** As config.optimizer's lr, schedule, warmupSteps, milestones and gamma. */
struct LrScheduleOptions {
  double lr = 0;  // after the warm-up, before any decay
  LrSchedule kind{};
  int64_t warmupSteps = 0;          // linear warm-up to lr over these steps
  std::vector<int64_t> milestones;  // kStep: lr ×gamma at each of these steps
  double gamma = 0;
};

enum class MomentumSchedule { kConstant, kCosine };

/** As config.keyMomentum and config.keyMomentumSchedule. */
struct KeyMomentumOptions {
  double base = 0;  // m
  MomentumSchedule kind{};
};

/** Learning rate for the step after `completed` steps: warm-up, then constant/step/cosine. */
double learningRateAt(const LrScheduleOptions& options, int64_t totalSteps, int64_t completed);

/** Key-encoder momentum: constant m, or 1 − (1 − m)·(cos(π·t/T) + 1)/2 (BYOL's schedule). */
double keyMomentumAt(const KeyMomentumOptions& options, int64_t totalSteps, int64_t completed);

}  // namespace imlm::optim

#include "core/optim/schedules.h"

#include <algorithm>
#include <cmath>

namespace imlm::optim {
namespace {
constexpr double kPi = 3.14159265358979323846;
}

double learningRateAt(const LrScheduleOptions& options, int64_t totalSteps, int64_t completed) {
  const double t = static_cast<double>(completed);
  if (completed < options.warmupSteps) return options.lr * (t + 1.0) / static_cast<double>(options.warmupSteps);
  switch (options.kind) {
    case LrSchedule::kConstant: return options.lr;
    case LrSchedule::kStep: {
      const auto passed = std::count_if(options.milestones.begin(), options.milestones.end(),
                                        [&](int64_t m) { return m <= completed; });
      return options.lr * std::pow(options.gamma, static_cast<double>(passed));
    }
    case LrSchedule::kCosine: {
      const double span = static_cast<double>(std::max<int64_t>(1, totalSteps - options.warmupSteps));
      const double progress = std::min(1.0, (t - static_cast<double>(options.warmupSteps)) / span);
      return options.lr * 0.5 * (1.0 + std::cos(kPi * progress));
    }
  }
  return options.lr;
}

double keyMomentumAt(const KeyMomentumOptions& options, int64_t totalSteps, int64_t completed) {
  if (options.kind == MomentumSchedule::kConstant) return options.base;
  const double progress =
      std::min(1.0, static_cast<double>(completed) / static_cast<double>(std::max<int64_t>(1, totalSteps)));
  return 1.0 - (1.0 - options.base) * (std::cos(kPi * progress) + 1.0) / 2.0;
}

}  // namespace imlm::optim

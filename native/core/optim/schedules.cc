#include "core/optim/schedules.h"

#include <algorithm>
#include <cmath>

namespace imlm::optim {
namespace {
constexpr double kPi = 3.14159265358979323846;
}

double learningRateAt(const train::OptimizerConfig& config, int64_t totalSteps, int64_t completed) {
  const double t = static_cast<double>(completed);
  if (completed < config.warmupSteps) return config.lr * (t + 1.0) / static_cast<double>(config.warmupSteps);
  switch (config.schedule) {
    case train::LrSchedule::kConstant: return config.lr;
    case train::LrSchedule::kStep: {
      const auto passed = std::count_if(config.milestones.begin(), config.milestones.end(),
                                        [&](int64_t m) { return m <= completed; });
      return config.lr * std::pow(config.gamma, static_cast<double>(passed));
    }
    case train::LrSchedule::kCosine: {
      const double span = static_cast<double>(std::max<int64_t>(1, totalSteps - config.warmupSteps));
      const double progress = std::min(1.0, (t - static_cast<double>(config.warmupSteps)) / span);
      return config.lr * 0.5 * (1.0 + std::cos(kPi * progress));
    }
  }
  return config.lr;
}

double keyMomentumAt(const train::TrainConfig& config, int64_t completed) {
  if (config.keyMomentumSchedule == train::MomentumSchedule::kConstant) return config.keyMomentum;
  const double progress =
      std::min(1.0, static_cast<double>(completed) / static_cast<double>(std::max<int64_t>(1, config.totalSteps)));
  return 1.0 - (1.0 - config.keyMomentum) * (std::cos(kPi * progress) + 1.0) / 2.0;
}

}  // namespace imlm::optim

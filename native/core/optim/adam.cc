#include "core/optim/adam.h"

#include <cmath>

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>

#include "core/errors.h"
#include "core/tensor_io.h"

namespace imlm::optim {

Adam::Adam(std::vector<std::pair<std::string, at::Tensor>> params, AdamOptions options)
    : params_(std::move(params)), options_(options) {}

void Adam::zeroGrad() {
  for (auto& [name, p] : params_) {
    if (p.grad().defined()) p.mutable_grad() = at::Tensor();  // set_to_none, as torch ≥ 2.0
  }
}

void Adam::step(double lr) {
  at::NoGradGuard noGrad;
  ++steps_;
  const double bias1 = 1.0 - std::pow(options_.beta1, static_cast<double>(steps_));
  const double bias2Sqrt = std::sqrt(1.0 - std::pow(options_.beta2, static_cast<double>(steps_)));
  for (auto& [name, p] : params_) {
    if (!p.grad().defined()) continue;
    at::Tensor grad = p.grad();
    if (options_.weightDecay != 0.0) grad = grad.add(p, options_.weightDecay);
    auto m = expAvg_.find(name);
    if (m == expAvg_.end()) {
      m = expAvg_.emplace(name, at::zeros_like(p, at::MemoryFormat::Preserve)).first;
      expAvgSq_.emplace(name, at::zeros_like(p, at::MemoryFormat::Preserve));
    }
    at::Tensor& v = expAvgSq_.at(name);
    m->second.lerp_(grad, 1.0 - options_.beta1);
    v.mul_(options_.beta2).addcmul_(grad, grad, 1.0 - options_.beta2);
    at::Tensor denom = (v.sqrt() / bias2Sqrt).add_(options_.eps);
    p.addcdiv_(m->second, denom, -lr / bias1);
  }
}

std::map<std::string, at::Tensor> Adam::state() const {
  std::map<std::string, at::Tensor> out;
  if (steps_ == 0) return out;
  for (const auto& [name, t] : expAvg_) out["exp_avg." + name] = t;
  for (const auto& [name, t] : expAvgSq_) out["exp_avg_sq." + name] = t;
  out["step"] = at::scalar_tensor(steps_, at::TensorOptions().dtype(at::kLong));
  return out;
}

void Adam::loadState(const std::map<std::string, at::Tensor>& state, const std::string& origin) {
  std::map<std::string, at::Tensor> byName(params_.begin(), params_.end());
  std::map<std::string, at::Tensor> avg, avgSq;
  int64_t steps = 0;
  for (const auto& [key, t] : state) {
    if (key == "step") {
      if (t.numel() != 1 || t.scalar_type() != at::kLong) {
        throw Error(ErrorCode::kFormat, origin + ": tensor 'step' of the optimiser should be one int64");
      }
      steps = t.item<int64_t>();
      continue;
    }
    const bool sq = key.rfind("exp_avg_sq.", 0) == 0;
    const bool plain = !sq && key.rfind("exp_avg.", 0) == 0;
    const std::string name = sq ? key.substr(11) : plain ? key.substr(8) : "";
    auto p = byName.find(name);
    if (p == byName.end()) {
      throw Error(ErrorCode::kFormat, origin + ": optimiser tensor '" + key + "' belongs to no trainable parameter");
    }
    if (!t.sizes().equals(p->second.sizes())) {
      throw Error(ErrorCode::kFormat, origin + ": optimiser tensor '" + key + "' should be " +
                                          shapeString(p->second.sizes()) + " but is " + shapeString(t.sizes()));
    }
    (sq ? avgSq : avg)[name] = t.to(p->second.device(), p->second.scalar_type()).clone();
  }
  expAvg_ = std::move(avg);
  expAvgSq_ = std::move(avgSq);
  steps_ = steps;
}

}  // namespace imlm::optim

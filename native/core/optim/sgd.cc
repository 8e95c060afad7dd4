#include "core/optim/sgd.h"

#include <ATen/core/grad_mode.h>  // at::NoGradGuard (not pulled in by ATen/Functions.h on 2.x)
#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>

namespace imlm::optim {

Sgd::Sgd(std::vector<std::pair<std::string, at::Tensor>> params, SgdOptions options)
    : params_(std::move(params)), options_(options) {}

void Sgd::step(double lr) {
  at::NoGradGuard noGrad;
  for (auto& [name, p] : params_) {
    if (!p.grad().defined()) continue;
    // The gradient is consumed here (the next step starts from none), so weight decay is added
    // into it in place: the same values as torch.optim.SGD's `d_p = d_p.add(p, alpha=wd)`
    // without allocating and page-faulting a parameter-sized tensor per parameter per step.
    at::Tensor d = p.mutable_grad();
    if (options_.weightDecay != 0) d.add_(p, options_.weightDecay);
    if (options_.momentum != 0) {
      auto it = buffers_.find(name);
      if (it == buffers_.end()) {
        it = buffers_.emplace(name, d.clone().detach()).first;
      } else {
        it->second.mul_(options_.momentum).add_(d, 1.0 - options_.dampening);
      }
      if (options_.nesterov) {
        d.add_(it->second, options_.momentum);
      } else {
        d = it->second;
      }
    }
    p.add_(d, -lr);
  }
}

void Sgd::zeroGrad() {
  // set_to_none, as torch.optim does by default since 2.0: the next backward allocates.
  for (auto& [name, p] : params_) {
    if (p.grad().defined()) p.mutable_grad().reset();
  }
}

double Sgd::clipGradNorm(double maxNorm) {
  at::NoGradGuard noGrad;
  std::vector<at::Tensor> norms;
  for (auto& [name, p] : params_) {
    if (p.grad().defined()) norms.push_back(p.grad().norm(2));
  }
  if (norms.empty()) return 0.0;
  at::Tensor total = at::stack(norms).norm(2);
  at::Tensor coefficient = (maxNorm / (total + 1e-6)).clamp_max(1.0);
  for (auto& [name, p] : params_) {
    if (p.grad().defined()) p.mutable_grad().mul_(coefficient);
  }
  return total.item<double>();
}

}  // namespace imlm::optim

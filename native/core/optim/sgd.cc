#include "core/optim/sgd.h"

#include <ATen/core/grad_mode.h>  // at::NoGradGuard (not pulled in by ATen/Functions.h on 2.x)
#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>

#include "core/compat.h"

namespace imlm::optim {

Sgd::Sgd(std::vector<std::pair<std::string, at::Tensor>> params, SgdOptions options)
    : params_(std::move(params)), options_(options) {}

std::vector<at::Tensor> Sgd::grads() const {
  std::vector<at::Tensor> out;
  out.reserve(params_.size());
  for (const auto& [name, p] : params_) {
    if (p.grad().defined()) out.push_back(p.grad());
  }
  return out;
}

void Sgd::step(double lr, const at::Tensor& apply) {
  at::NoGradGuard noGrad;
  std::vector<at::Tensor> params;
  std::vector<at::Tensor> grads;
  std::vector<std::string> names;
  for (auto& [name, p] : params_) {
    if (!p.grad().defined()) continue;
    params.push_back(p);
    grads.push_back(p.mutable_grad());
    names.push_back(name);
  }
  if (params.empty()) return;
  const bool momentum = options_.momentum != 0;
  // Buffers start at zero, so the first step's m·0 + d is torch's clone(d) exactly (dampening
  // applies from the first step on; torch skips it there: the same while dampening is 0, its
  // only value here).
  std::vector<at::Tensor> buffers;
  if (momentum) {
    for (size_t i = 0; i < params.size(); ++i) {
      auto it = buffers_.find(names[i]);
      if (it == buffers_.end()) it = buffers_.emplace(names[i], at::zeros_like(params[i])).first;
      buffers.push_back(it->second);
    }
  }
#if IMLM_COMPAT_HAS_FUSED_SGD
  if (compat::hasFusedSgd(params.front().device())) {
    // One multi-tensor kernel; found_inf = !apply skips the whole update on the device.
    const c10::optional<at::Tensor> foundInf = at::logical_not(apply).to(at::kFloat);
    at::_fused_sgd_(params, grads, momentum ? at::TensorList(buffers) : at::TensorList(), options_.weightDecay,
                    options_.momentum, lr, options_.dampening, options_.nesterov, /*maximize=*/false,
                    /*is_first_step=*/false, /*grad_scale=*/c10::nullopt, foundInf);
    return;
  }
#endif
  // torch.optim.SGD's _multi_tensor_sgd, operation for operation, each result selected by
  // `apply` (one where per tensor: the gradients may hold NaN, so multiplying by 0 would not do).
  if (options_.weightDecay != 0) at::_foreach_add_(grads, params, options_.weightDecay);
  std::vector<at::Tensor> update = grads;
  if (momentum) {
    std::vector<at::Tensor> next = at::_foreach_mul(buffers, options_.momentum);
    at::_foreach_add_(next, grads, 1.0 - options_.dampening);
    for (size_t i = 0; i < names.size(); ++i) {
      buffers[i] = at::where(apply, next[i], buffers[i]);
      buffers_[names[i]] = buffers[i];
    }
    if (options_.nesterov) {
      at::_foreach_add_(grads, buffers, options_.momentum);
    } else {
      update = buffers;
    }
  }
  const at::Tensor zero = at::zeros({}, update.front().options());
  for (at::Tensor& u : update) u = at::where(apply, u, zero);
  at::_foreach_add_(params, update, -lr);
}

void Sgd::zeroGrad() {
  // set_to_none, as torch.optim does by default since 2.0: the next backward allocates.
  for (auto& [name, p] : params_) {
    if (p.grad().defined()) p.mutable_grad().reset();
  }
}

at::Tensor Sgd::gradNorm() const {
  at::NoGradGuard noGrad;
  std::vector<at::Tensor> g = grads();
  if (g.empty()) return at::zeros({});
  return at::stack(at::_foreach_norm(g, 2)).norm(2);
}

at::Tensor Sgd::clipGradNorm(double maxNorm) {
  at::NoGradGuard noGrad;
  std::vector<at::Tensor> g = grads();
  if (g.empty()) return at::zeros({});
  // torch.nn.utils.clip_grad_norm_ (foreach): one norm per gradient, their norm, one scale.
  at::Tensor total = at::stack(at::_foreach_norm(g, 2)).norm(2);
  at::Tensor coefficient = (maxNorm / (total + 1e-6)).clamp_max(1.0);
  compat::foreachMulByTensor(g, coefficient);
  return total;
}

}  // namespace imlm::optim

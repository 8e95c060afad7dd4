#include "core/losses/info_nce.h"

#include <algorithm>

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>

namespace imlm::losses {

InfoNceResult infoNce(const at::Tensor& q, const at::Tensor& k, const at::Tensor& queue, double temperature) {
  at::Tensor positive = (q * k).sum(/*dim=*/1, /*keepdim=*/true);  // N×1
  at::Tensor negative = at::mm(q, queue);                           // N×K
  at::Tensor logits = at::cat({positive, negative}, /*dim=*/1) / temperature;
  at::Tensor targets = at::zeros({q.size(0)}, at::TensorOptions().dtype(at::kLong).device(q.device()));
  return {at::cross_entropy_loss(logits, targets), logits};
}

at::Tensor topKAccuracy(const at::Tensor& logits, int64_t k) {
  if (logits.size(0) == 0) return at::zeros({}, logits.options().dtype(at::kDouble));
  const int64_t kk = std::min<int64_t>(k, logits.size(1));
  at::Tensor top = std::get<1>(logits.detach().topk(kk, /*dim=*/1));  // N×k indices
  return top.eq(0).any(/*dim=*/1).to(at::kDouble).mean();
}

}  // namespace imlm::losses

// Rows scaled to unit L2 norm, as torch.nn.functional.normalize(x, dim=1) (eps 1e-12): MoCo's
// queries, keys and queue, and the embeddings evaluation writes.
#pragma once

#include <ATen/core/Tensor.h>

namespace imlm {

inline at::Tensor l2Normalize(const at::Tensor& x) {
  return x / x.norm(2, /*dim=*/{1}, /*keepdim=*/true).clamp_min(1e-12).expand_as(x);
}

}  // namespace imlm

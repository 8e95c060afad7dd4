// Collectives that autograd can differentiate through, for losses computed from statistics of
// the global batch.
#pragma once

#include <ATen/core/Tensor.h>

#include "core/distributed/process_group.h"

namespace imlm::dist {

/**
 * Σ_ranks x for a quantity every rank then turns into the same loss L (Barlow Twins' c).
 * Backward gives each rank W·∂L/∂(Σx): the sum over ranks of the identical upstream gradients,
 * as torch.distributed.nn.all_reduce would, computed without a second collective. After the
 * gradient all-reduce averages over ranks, the parameters get exactly ∂L/∂θ of the global loss.
 */
at::Tensor allReduceSumForSharedLoss(ProcessGroup& group, const at::Tensor& x);

/**
 * Σ_ranks x for a quantity each rank turns into its own loss (SyncBatchNorm's statistics):
 * backward all-reduces the incoming gradients too, as torch.distributed.nn.all_reduce does.
 * The backward collective runs on autograd's thread, in graph order, the same on every rank.
 */
at::Tensor allReduceSum(ProcessGroup& group, const at::Tensor& x);

}  // namespace imlm::dist

// MoCo's contrastive loss (InfoNCE with a queue of negatives). Pure functions.
#pragma once

#include <ATen/core/Tensor.h>

namespace imlm::losses {

struct InfoNceResult {
  at::Tensor loss;    // scalar: cross-entropy of the positive (column 0)
  at::Tensor logits;  // N×(1+K): [l_pos, l_neg] / temperature
};

/**
 * q: N×D and k: N×D, both L2-normalised; queue: D×K (the negatives, not modified).
 * logits = cat(Σ(q·k), q·queue) / temperature; loss = mean cross-entropy with target 0.
 */
InfoNceResult infoNce(const at::Tensor& q, const at::Tensor& k, const at::Tensor& queue, double temperature);

/** Fraction of rows of `logits` (N×M) whose top-`k` columns contain column 0: a 0-d float64 tensor on the logits' device. */
at::Tensor topKAccuracy(const at::Tensor& logits, int64_t k);

}  // namespace imlm::losses

// Pairing the rows of two files by sample id (features before/after fine-tuning, predictions of
// two models, predictions and a labels file), so that no analysis depends on row order (the
// reference's NIH misalignment, docs/method.md Q9).
#pragma once

#include <vector>

#include <ATen/core/Tensor.h>

namespace imlm::analysis {

struct Alignment {
  at::Tensor rowsA;  // I64 [n]: 0..n−1, A's own order
  at::Tensor rowsB;  // I64 [n]: the row of B holding the same id as A's row i
};

/**
 * idsA: integer [nA], idsB: integer [nB]. Both must hold the same set of ids, each once; otherwise
 * throws kInvalidArgument saying how many ids each side lacks (with examples) or which repeats.
 */
Alignment alignByIds(const at::Tensor& idsA, const at::Tensor& idsB);

/** Each tensor's rows (dimension 0) in the order `rows` gives (I64 [n]); each must have as many rows as ids were aligned. */
std::vector<at::Tensor> selectRows(const std::vector<at::Tensor>& tensors, const at::Tensor& rows);

}  // namespace imlm::analysis

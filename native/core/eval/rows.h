// Choosing the labelled subset (a label fraction) of a split by row index, with the bounds
// checked: an out-of-range row is a caller error, not a LibTorch index error.
#pragma once

#include <string>

#include <ATen/Functions.h>
#include <ATen/core/Tensor.h>

#include "core/errors.h"

namespace imlm::eval {

/** rows I64 [m] of `t` along dim 0; undefined `rows` returns `t`. */
inline at::Tensor selectRows(const at::Tensor& t, const at::Tensor& rows, const std::string& what) {
  if (!rows.defined()) return t;
  if (rows.dim() != 1 || rows.scalar_type() != at::kLong) {
    throw Error(ErrorCode::kInvalidArgument, "expected rows as an int64 [m] tensor for " + what);
  }
  if (rows.numel() > 0 && (rows.min().item<int64_t>() < 0 || rows.max().item<int64_t>() >= t.size(0))) {
    throw Error(ErrorCode::kInvalidArgument, "a row index for " + what + " is outside 0.." + std::to_string(t.size(0) - 1));
  }
  return t.index_select(0, rows.to(t.device()));
}

}  // namespace imlm::eval

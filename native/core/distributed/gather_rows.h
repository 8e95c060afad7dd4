// All-gather of row blocks whose first dimension differs between ranks (the shards of a split
// that does not divide evenly). c10d's all-gather needs the same shape on every rank, so each
// rank pads its rows to the longest shard and the true counts travel first.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "core/distributed/process_group.h"

namespace imlm::dist {

/**
 * Every rank's `rows` ([n_r, ...], n_r may differ, the trailing shape and dtype must not)
 * concatenated along dim 0 in rank order, on the CPU, on every rank. The collectives run on
 * `device` (the group's: CPU for Gloo, the rank's GPU for NCCL). A rank with no rows may send
 * any empty tensor (e.g. [0]): the ranks with rows set the columns. Throws kInvalidArgument on
 * every rank alike when the trailing shapes or dtypes of the ranks with rows disagree.
 */
at::Tensor allGatherRows(ProcessGroup& group, const at::Tensor& rows, const c10::Device& device);

}  // namespace imlm::dist

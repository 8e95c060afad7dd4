#include "core/distributed/gather_rows.h"

#include <algorithm>
#include <string>
#include <vector>

#include <ATen/Functions.h>
#include <ATen/core/grad_mode.h>

#include "core/errors.h"

namespace imlm::dist {
namespace {

// What each rank sends ahead of its rows, in a fixed-size int64 record so that the record
// itself can be all-gathered: [rows, dtype, ndim, trailing dims padded with -1].
constexpr int64_t kMaxDims = 8;
constexpr int64_t kRecordSize = 3 + kMaxDims;

std::string describe(const int64_t* record) {
  std::string shape = "[n";
  for (int64_t d = 1; d < record[2]; ++d) shape += ", " + std::to_string(record[2 + d]);
  return shape + "] of " + std::string(c10::toString(static_cast<c10::ScalarType>(record[1])));
}

}  // namespace

at::Tensor allGatherRows(ProcessGroup& group, const at::Tensor& rows, const c10::Device& device) {
  at::NoGradGuard noGrad;
  if (rows.dim() < 1 || rows.dim() > kMaxDims) {
    throw Error(ErrorCode::kInvalidArgument, "expected rows of 1 to " + std::to_string(kMaxDims) + " dimensions but received " +
                                                 std::to_string(rows.dim()));
  }
  std::vector<int64_t> mine(kRecordSize, -1);
  mine[0] = rows.size(0);
  mine[1] = static_cast<int64_t>(rows.scalar_type());
  mine[2] = rows.dim();
  for (int64_t d = 1; d < rows.dim(); ++d) mine[2 + d] = rows.size(d);
  const at::Tensor records =
      group.allGather(at::tensor(mine, at::TensorOptions().dtype(at::kLong)).to(device)).to(at::kCPU).contiguous();
  const int64_t world = group.size();
  const int64_t* all = records.data_ptr<int64_t>();
  // A rank with no rows (more ranks than batches) may not know the columns: the first rank
  // that has rows sets them, and only ranks with rows are checked against it.
  const int64_t* reference = nullptr;
  int64_t referenceRank = 0;
  int64_t longest = 0;
  for (int64_t r = 0; r < world; ++r) {
    const int64_t* theirs = all + r * kRecordSize;
    longest = std::max(longest, theirs[0]);
    if (theirs[0] == 0) continue;
    if (!reference) {
      reference = theirs;
      referenceRank = r;
      continue;
    }
    for (int64_t i = 1; i < kRecordSize; ++i) {
      if (theirs[i] != reference[i]) {
        throw Error(ErrorCode::kInvalidArgument, "all-gather of rows: rank " + std::to_string(referenceRank) + " sends " + describe(reference) +
                                                     " but rank " + std::to_string(r) + " sends " + describe(theirs) +
                                                     "; every rank must send the same columns and dtype");
      }
    }
  }
  if (!reference) return at::empty(rows.sizes(), rows.options().device(at::kCPU));
  std::vector<int64_t> paddedShape{longest};
  for (int64_t d = 1; d < reference[2]; ++d) paddedShape.push_back(reference[2 + d]);
  // Padding rows are zeros; they are dropped again below, so their value never matters.
  at::Tensor padded = at::zeros(paddedShape, at::TensorOptions().dtype(static_cast<c10::ScalarType>(reference[1])).device(device));
  if (rows.size(0) > 0) padded.narrow(0, 0, rows.size(0)).copy_(rows);
  const at::Tensor gathered = group.allGather(padded).to(at::kCPU);
  std::vector<at::Tensor> pieces;
  for (int64_t r = 0; r < world; ++r) pieces.push_back(gathered.narrow(0, r * longest, all[r * kRecordSize]));
  return at::cat(pieces, 0).contiguous();
}

}  // namespace imlm::dist

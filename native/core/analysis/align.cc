#include "core/analysis/align.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include <ATen/Functions.h>

#include "core/errors.h"
#include "core/tensor_io.h"

namespace imlm::analysis {
namespace {

// How many missing ids an error message lists.
constexpr size_t kExamples = 5;

std::vector<int64_t> idsOf(const at::Tensor& ids, const char* name) {
  if (ids.dim() != 1 || at::isFloatingType(ids.scalar_type())) {
    throw Error(ErrorCode::kInvalidArgument, std::string("expected ") + name + " as integer ids [N] but received " + c10::toString(ids.scalar_type()) + " " +
                                                 shapeString(ids.sizes()));
  }
  at::Tensor t = ids.to(at::kCPU, at::kLong).contiguous();
  return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel());
}

/** (id, row) sorted by id; throws on a repeated id. */
std::vector<std::pair<int64_t, int64_t>> sortedWithRows(const std::vector<int64_t>& ids, const char* name) {
  std::vector<std::pair<int64_t, int64_t>> pairs;
  pairs.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) pairs.emplace_back(ids[i], static_cast<int64_t>(i));
  std::sort(pairs.begin(), pairs.end());
  for (size_t i = 1; i < pairs.size(); ++i) {
    if (pairs[i].first == pairs[i - 1].first) {
      throw Error(ErrorCode::kInvalidArgument, std::string(name) + " holds sample id " + std::to_string(pairs[i].first) + " more than once (rows " +
                                                   std::to_string(pairs[i - 1].second) + " and " + std::to_string(pairs[i].second) + "); ids must be unique");
    }
  }
  return pairs;
}

std::string describeMissing(const std::vector<int64_t>& missing) {
  std::string text;
  for (size_t i = 0; i < std::min(missing.size(), kExamples); ++i) text += (i ? ", " : "") + std::to_string(missing[i]);
  if (missing.size() > kExamples) text += ", …";
  return text;
}

}  // namespace

Alignment alignByIds(const at::Tensor& idsA, const at::Tensor& idsB) {
  const std::vector<int64_t> a = idsOf(idsA, "ids of the first file");
  const std::vector<int64_t> b = idsOf(idsB, "ids of the second file");
  const auto sortedA = sortedWithRows(a, "the first file");
  const auto sortedB = sortedWithRows(b, "the second file");
  std::vector<int64_t> onlyInA, onlyInB;
  size_t i = 0, j = 0;
  while (i < sortedA.size() || j < sortedB.size()) {
    if (j == sortedB.size() || (i < sortedA.size() && sortedA[i].first < sortedB[j].first)) onlyInA.push_back(sortedA[i++].first);
    else if (i == sortedA.size() || sortedB[j].first < sortedA[i].first) onlyInB.push_back(sortedB[j++].first);
    else ++i, ++j;
  }
  if (!onlyInA.empty() || !onlyInB.empty()) {
    std::string message = "the two files do not hold the same samples: ";
    message += std::to_string(onlyInB.size()) + " of the second file's " + std::to_string(b.size()) + " ids are missing from the first";
    if (!onlyInB.empty()) message += " (" + describeMissing(onlyInB) + ")";
    message += ", and " + std::to_string(onlyInA.size()) + " of the first file's " + std::to_string(a.size()) + " ids are missing from the second";
    if (!onlyInA.empty()) message += " (" + describeMissing(onlyInA) + ")";
    message += "; compare outputs of the same split of the same data set";
    throw Error(ErrorCode::kInvalidArgument, message);
  }
  std::vector<int64_t> rowsB(a.size());
  for (size_t k = 0; k < sortedA.size(); ++k) rowsB[static_cast<size_t>(sortedA[k].second)] = sortedB[k].second;
  Alignment out;
  out.rowsA = at::arange(static_cast<int64_t>(a.size()), at::TensorOptions().dtype(at::kLong));
  out.rowsB = at::tensor(at::ArrayRef<int64_t>(rowsB), at::TensorOptions().dtype(at::kLong));
  return out;
}

std::vector<at::Tensor> selectRows(const std::vector<at::Tensor>& tensors, const at::Tensor& rows) {
  std::vector<at::Tensor> out;
  for (const at::Tensor& t : tensors) {
    if (t.dim() < 1 || t.size(0) != rows.size(0)) {
      throw Error(ErrorCode::kInvalidArgument, "expected a tensor with " + std::to_string(rows.size(0)) + " rows (one per id) but received " + shapeString(t.sizes()));
    }
    out.push_back(t.index_select(0, rows.to(t.device())).contiguous());
  }
  return out;
}

}  // namespace imlm::analysis

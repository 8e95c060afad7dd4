#include "core/analysis/knn.h"

#include <algorithm>
#include <string>

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>

#include "core/errors.h"
#include "core/l2_normalize.h"
#include "core/tensor_io.h"

namespace imlm::analysis {
namespace {

void checkLabels(const at::Tensor& labels, int64_t rows, int64_t classes, const char* what) {
  if (labels.dim() != 1 || labels.size(0) != rows) {
    throw Error(ErrorCode::kInvalidArgument, std::string("expected ") + what + " labels I64 [" + std::to_string(rows) + "] but received " +
                                                 shapeString(labels.sizes()));
  }
  if (rows > 0 && (labels.min().item<int64_t>() < 0 || labels.max().item<int64_t>() >= classes)) {
    throw Error(ErrorCode::kInvalidArgument, std::string("expected ") + what + " labels in 0.." + std::to_string(classes - 1));
  }
}

}  // namespace

KnnResult knnClassify(const at::Tensor& bank, const at::Tensor& bankLabels, const at::Tensor& query, const at::Tensor& queryLabels,
                      const KnnOptions& options) {
  if (bank.dim() != 2 || query.dim() != 2 || bank.size(1) != query.size(1) || bank.size(0) == 0) {
    throw Error(ErrorCode::kInvalidArgument, "expected a non-empty bank [N, F] and queries [M, F] of the same width but received " +
                                                 shapeString(bank.sizes()) + " and " + shapeString(query.sizes()));
  }
  if (options.k < 1 || options.temperature <= 0 || options.classes < 1 || options.queryBatch < 1) {
    throw Error(ErrorCode::kInvalidArgument, "expected k >= 1, temperature > 0, classes >= 1 and queryBatch >= 1");
  }
  checkLabels(bankLabels.to(at::kLong), bank.size(0), options.classes, "bank");
  checkLabels(queryLabels.to(at::kLong), query.size(0), options.classes, "query");
  at::NoGradGuard noGrad;
  const at::Tensor b = l2Normalize(bank.to(at::kFloat));
  const at::Tensor bankOneHot = at::one_hot(bankLabels.to(at::kLong), options.classes).to(at::kFloat);  // [N, C]
  const int64_t k = std::min(options.k, bank.size(0));
  const int64_t top = std::min<int64_t>(5, options.classes);
  int64_t hits1 = 0;
  int64_t hits5 = 0;
  for (int64_t first = 0; first < query.size(0); first += options.queryBatch) {
    const int64_t last = std::min(query.size(0), first + options.queryBatch);
    const at::Tensor q = l2Normalize(query.slice(0, first, last).to(at::kFloat));
    const auto [similarity, index] = at::topk(at::matmul(q, b.t()), k, /*dim=*/1);  // [m, k]
    const at::Tensor weights = (similarity / options.temperature).exp().unsqueeze(2);  // [m, k, 1]
    const at::Tensor votes = (bankOneHot.index_select(0, index.reshape(-1)).view({last - first, k, options.classes}) * weights).sum(1);
    const at::Tensor ranked = std::get<1>(at::topk(votes, top, /*dim=*/1));  // [m, top]
    const at::Tensor truth = queryLabels.slice(0, first, last).to(at::kLong).unsqueeze(1);
    hits1 += ranked.slice(1, 0, 1).eq(truth).sum().item<int64_t>();
    hits5 += ranked.eq(truth).any(1).sum().item<int64_t>();
  }
  KnnResult out;
  out.queries = query.size(0);
  if (out.queries > 0) {
    out.top1 = static_cast<double>(hits1) / static_cast<double>(out.queries);
    out.top5 = static_cast<double>(hits5) / static_cast<double>(out.queries);
  }
  return out;
}

}  // namespace imlm::analysis

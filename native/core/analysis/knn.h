// Weighted k-nearest-neighbour classification of a representation, the online monitor of
// self-supervised pre-training as solo-learn runs it (its WeightedKNNClassifier): cosine
// similarity between L2-normalised features, the k most similar bank rows vote for their labels
// with weight exp(similarity / T), the class with the largest vote is the prediction.
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace imlm::analysis {

struct KnnOptions {
  int64_t k = 0;              // neighbours (solo-learn: 20); more than the bank holds → all of it
  double temperature = 0;     // of the vote weights (solo-learn: 0.07)
  int64_t classes = 0;        // labels are 0..classes−1
  int64_t queryBatch = 0;     // queries compared with the bank at a time (bounds memory)
};

struct KnnResult {
  double top1 = 0;   // fraction of queries whose prediction is their label
  double top5 = 0;   // … whose label is among the five largest votes (top1 when classes < 5)
  int64_t queries = 0;
};

/**
 * bank F32 [N, F] with bankLabels I64 [N]; query F32 [M, F] with queryLabels I64 [M]. Throws
 * kInvalidArgument for mismatched shapes, labels outside 0..classes−1, or an empty bank.
 */
KnnResult knnClassify(const at::Tensor& bank, const at::Tensor& bankLabels, const at::Tensor& query, const at::Tensor& queryLabels,
                      const KnnOptions& options);

}  // namespace imlm::analysis

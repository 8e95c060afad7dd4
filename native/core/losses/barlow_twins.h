// The Barlow Twins redundancy-reduction loss on one block, its projector, and the intermediate
// loss "barlow" that applies them to every block. The loss is a pure function of the two
// normalised projections; the projector is an nn::Module (its weights and BN statistics are
// part of the training state, names as in docs/formats.md).
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

#include "core/models/batch_norm.h"

namespace imlm::losses {

class IntermediateLoss;
struct IntermediateLossOptions;
struct EncoderBlocks;

enum class BarlowWeighting {
  kKaku2021,  // λ·(on + off): the paper's code
  kOriginal,  // on + λ·off: Zbontar et al. 2021
};

struct BarlowWeights {
  double lambda = 0;
  double scale = 0;  // multiplies both sums
  BarlowWeighting weighting{};
};

/** As config.intermediate.barlow (docs/formats.md). */
struct BarlowTwinsOptions {
  std::array<int64_t, 3> projectorDims{};  // h1, h2, h3 of BarlowProjector
  BarlowWeights weights;
};

/**
 * z1, z2: N×H projections of the two views, each already batch-normalised (non-affine BN).
 * c = z1ᵀ·z2 / N (H×H); on = Σ(c_jj − 1)²·scale; off = Σ_{j≠l} c_jl²·scale → scalar.
 */
at::Tensor barlowTwinsLoss(const at::Tensor& z1, const at::Tensor& z2, const BarlowWeights& weights);

/**
 * The same loss from the cross-correlation c (H×H) itself: data-parallel training sums
 * z1ᵀ·z2 / N_global over the ranks first (as the original Barlow Twins does), then calls this.
 */
at::Tensor barlowTwinsLossFromCorrelation(const at::Tensor& c, const BarlowWeights& weights);

/**
 * Linear(in, h1, no bias) → BN(h1) → ReLU → Linear(h1, h2, no bias) → BN(h2) → ReLU →
 * Linear(h2, h3, no bias), registered as "projector", and BN(h3, affine=False) as "bn".
 */
class BarlowProjectorImpl : public torch::nn::Module {
 public:
  BarlowProjectorImpl(int64_t inDim, std::array<int64_t, 3> dims);

  /** y: N×in → N×h3, not normalised. */
  at::Tensor project(const at::Tensor& y) { return projector->forward(y); }
  /** The non-affine BN applied to each view's projection before the cross-correlation. */
  at::Tensor normalize(const at::Tensor& z) { return bn->forward(z); }

  torch::nn::Sequential projector{nullptr};
  models::BatchNorm1d bn{nullptr};
};
TORCH_MODULE(BarlowProjector);

/**
 * The intermediate loss "barlow": per block, a projector (registered as p1…p4) and the loss on
 * the two views' pooled, projected, normalised block outputs, with options.barlow. Its batch
 * norms normalise encoder.bnGroups sub-batches apart, as the encoders do; across ranks the
 * cross-correlation is summed over them, as the original Barlow Twins does.
 */
std::unique_ptr<IntermediateLoss> makeBarlowTwinsLoss(const IntermediateLossOptions& options, const EncoderBlocks& encoder);

}  // namespace imlm::losses

#include "core/losses/barlow_twins.h"

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>

namespace imlm::losses {

at::Tensor barlowTwinsLoss(const at::Tensor& z1, const at::Tensor& z2, const BarlowWeights& weights) {
  const int64_t n = z1.size(0);
  return barlowTwinsLossFromCorrelation(at::mm(z1.t(), z2) / static_cast<double>(n), weights);
}

at::Tensor barlowTwinsLossFromCorrelation(const at::Tensor& c, const BarlowWeights& weights) {
  at::Tensor diagonal = c.diagonal();
  at::Tensor on = (diagonal - 1).pow(2).sum() * weights.scale;
  // The off-diagonal entries, gathered as the Barlow Twins code does (flatten, drop the last
  // element, view as (H−1)×(H+1), drop column 0), so sums run in the reference's order.
  const int64_t h = c.size(0);
  at::Tensor offDiagonal = c.flatten().slice(0, 0, h * h - 1).view({h - 1, h + 1}).slice(1, 1).flatten();
  at::Tensor off = offDiagonal.pow(2).sum() * weights.scale;
  if (weights.weighting == BarlowWeighting::kKaku2021) return weights.lambda * on + weights.lambda * off;
  return on + weights.lambda * off;
}

BarlowProjectorImpl::BarlowProjectorImpl(int64_t inDim, std::array<int64_t, 3> dims) {
  namespace nn = torch::nn;
  projector = register_module(
      "projector",
      nn::Sequential(nn::Linear(nn::LinearOptions(inDim, dims[0]).bias(false)), models::BatchNorm1d(dims[0]), nn::ReLU(),
                     nn::Linear(nn::LinearOptions(dims[0], dims[1]).bias(false)), models::BatchNorm1d(dims[1]), nn::ReLU(),
                     nn::Linear(nn::LinearOptions(dims[1], dims[2]).bias(false))));
  bn = register_module("bn", models::BatchNorm1d(nn::BatchNormOptions(dims[2]).affine(false)));
}

}  // namespace imlm::losses

#include "core/losses/barlow_twins.h"

#include <cmath>
#include <string>
#include <vector>

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>

#include "core/distributed/differentiable.h"
#include "core/losses/intermediate_loss.h"

namespace imlm::losses {
namespace {

/** Every Linear under `module` gets PyTorch's default init, drawn from `generator`. */
void initializeLinears(torch::nn::Module& module, at::Generator& generator) {
  at::NoGradGuard noGrad;
  for (auto& child : module.modules(/*include_self=*/false)) {
    if (auto* l = child->as<torch::nn::Linear>()) {
      const double bound = 1.0 / std::sqrt(static_cast<double>(l->weight.size(1)));
      l->weight.uniform_(-bound, bound, generator);
      if (l->bias.defined()) l->bias.uniform_(-bound, bound, generator);
    }
  }
}

/** `fn` over `groups` consecutive sub-batches of x, concatenated (batch norms see each apart). */
template <typename Fn>
at::Tensor inGroups(int64_t groups, const at::Tensor& x, Fn&& fn) {
  if (groups == 1) return fn(x);
  std::vector<at::Tensor> parts;
  for (const at::Tensor& chunk : x.chunk(groups, 0)) parts.push_back(fn(chunk));
  return at::cat(parts, 0);
}

class BarlowTwinsIntermediateLoss final : public IntermediateLoss {
 public:
  BarlowTwinsIntermediateLoss(const BarlowTwinsOptions& options, const EncoderBlocks& encoder)
      : weights_(options.weights), bnGroups_(encoder.bnGroups) {
    for (size_t i = 0; i < 4; ++i) projectors_[i] = BarlowProjector(encoder.channels[i], options.projectorDims);
  }

  std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> modules() const override {
    std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> out;
    for (size_t i = 0; i < 4; ++i) out.emplace_back("p" + std::to_string(i + 1), projectors_[i].ptr());
    return out;
  }

  void initialize(at::Generator& generator) override {
    for (auto& projector : projectors_) initializeLinears(*projector, generator);
  }

  at::Tensor reduceKeyFeature(size_t block, const at::Tensor& feature) const override {
    return at::adaptive_avg_pool2d(feature, {1, 1});  // term() pools to a vector first
  }

  at::Tensor term(size_t block, const at::Tensor& query, const at::Tensor& key, dist::ProcessGroup* group) override {
    at::Tensor yq = at::adaptive_avg_pool2d(query, {1, 1}).flatten(1);
    at::Tensor yk = at::adaptive_avg_pool2d(key, {1, 1}).flatten(1);
    // Same call order as the reference: project both views, then normalise both; with bnGroups
    // the projector's BNs see the same sub-batches the encoders did.
    BarlowProjector& projector = projectors_[block];
    auto project = [&](const at::Tensor& y) { return projector->project(y); };
    auto normalize = [&](const at::Tensor& z) { return projector->normalize(z); };
    at::Tensor z1 = inGroups(bnGroups_, yq, project);
    at::Tensor z2 = inGroups(bnGroups_, yk, project);
    at::Tensor n1 = inGroups(bnGroups_, z1, normalize);
    at::Tensor n2 = inGroups(bnGroups_, z2, normalize);
    if (!group) return barlowTwinsLoss(n1, n2, weights_);
    // c = Σ_ranks n1ᵀ·n2 / N_global, as the original Barlow Twins all-reduces it.
    const double globalBatch = static_cast<double>(n1.size(0) * group->size());
    at::Tensor c = dist::allReduceSumForSharedLoss(*group, at::mm(n1.t(), n2) / globalBatch);
    return barlowTwinsLossFromCorrelation(c, weights_);
  }

 private:
  BarlowWeights weights_;
  int64_t bnGroups_;
  std::array<BarlowProjector, 4> projectors_{nullptr, nullptr, nullptr, nullptr};
};

}  // namespace

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

std::unique_ptr<IntermediateLoss> makeBarlowTwinsLoss(const IntermediateLossOptions& options, const EncoderBlocks& encoder) {
  return std::make_unique<BarlowTwinsIntermediateLoss>(options.barlow, encoder);
}

}  // namespace imlm::losses

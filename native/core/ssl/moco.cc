#include "core/ssl/moco.h"

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>
#include <torch/nn/modules/linear.h>

#include "core/compat.h"
#include "core/errors.h"
#include "core/losses/info_nce.h"
#include "core/losses/layer_mse.h"

namespace imlm::ssl {
namespace {

/** F.normalize(x, dim=1): x / max(‖x‖₂, eps). */
at::Tensor l2Normalize(const at::Tensor& x) {
  return x / x.norm(2, /*dim=*/{1}, /*keepdim=*/true).clamp_min(1e-12).expand_as(x);
}

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

}  // namespace

MocoImpl::MocoImpl(const train::TrainConfig& config) : config_(config) {
  if (config.queueSize < 1) {
    throw Error(ErrorCode::kInvalidArgument, "expected queueSize >= 1 but received " + std::to_string(config.queueSize));
  }
  if (config.shuffleGroups < 1) {
    throw Error(ErrorCode::kInvalidArgument,
                "expected shuffleGroups >= 1 but received " + std::to_string(config.shuffleGroups));
  }
  encoderQ = register_module("encoder_q", models::ResNet(config.backbone));
  encoderK = register_module("encoder_k", models::ResNet(config.backbone));
  for (auto& p : encoderK->parameters()) p.set_requires_grad(false);
  queue = register_buffer("queue", at::zeros({config.backbone.embeddingDim, config.queueSize}));
  queuePtr = register_buffer("queue_ptr", at::zeros({1}, at::TensorOptions().dtype(at::kLong)));
  if (config.intermediate == train::IntermediateLoss::kBarlow) {
    const auto channels = encoderQ->blockChannels();
    for (size_t i = 0; i < 4; ++i) {
      projectors[i] = register_module("p" + std::to_string(i + 1),
                                      losses::BarlowProjector(channels[i], config.barlowProjectorDims));
    }
  }
}

void MocoImpl::initialize(at::Generator& generator) {
  at::NoGradGuard noGrad;
  encoderQ->initialize(generator);
  for (auto& projector : projectors) {
    if (projector) initializeLinears(*projector, generator);
  }
  syncKeyEncoder();
  queue.copy_(l2Normalize(at::randn(queue.sizes(), generator, queue.options()).t()).t());
  queuePtr.zero_();
}

void MocoImpl::syncKeyEncoder() {
  at::NoGradGuard noGrad;
  auto q = encoderQ->named_parameters();
  auto k = encoderK->named_parameters();
  for (const auto& item : q) k[item.key()].copy_(item.value());
  auto qb = encoderQ->named_buffers();
  auto kb = encoderK->named_buffers();
  for (const auto& item : qb) kb[item.key()].copy_(item.value());
}

void MocoImpl::momentumUpdate(double m) {
  at::NoGradGuard noGrad;
  // parameters() lists both encoders in the same (registration) order.
  std::vector<at::Tensor> keyParams = encoderK->parameters();
  std::vector<at::Tensor> queryParams = encoderQ->parameters();
  at::_foreach_mul_(keyParams, m);
  at::_foreach_add_(keyParams, queryParams, 1.0 - m);
}

void MocoImpl::enqueue(const at::Tensor& keys) {
  at::NoGradGuard noGrad;
  const int64_t n = keys.size(0);
  const int64_t capacity = queue.size(1);
  const int64_t ptr = queuePtr.item<int64_t>();
  // With more keys than slots only the last `capacity` survive; they land where they would have.
  const int64_t kept = std::min(n, capacity);
  const int64_t first = (ptr + (n - kept)) % capacity;
  at::Tensor columns = (at::arange(kept, queuePtr.options()) + first).remainder(capacity);
  queue.index_copy_(/*dim=*/1, columns.to(queue.device()), keys.slice(0, n - kept).t().to(queue.dtype()));
  queuePtr.fill_((ptr + n) % capacity);
}

models::EncoderOutput MocoImpl::encode(models::ResNet& encoder, const at::Tensor& images) {
  models::EncoderOutput out;
  {
    compat::CudaAutocastGuard autocast(autocast_.has_value(), autocast_.value_or(at::kHalf));
    out = encoder->forward(images);
  }
  if (autocast_) {
    out.embedding = out.embedding.to(at::kFloat);
    for (auto& block : out.blocks) block = block.to(at::kFloat);
  }
  return out;
}

models::EncoderOutput MocoImpl::keyForward(const at::Tensor& keyImages, at::Generator& generator) {
  const int64_t groups = config_.shuffleGroups;
  if (groups == 1) return encode(encoderK, keyImages);
  const int64_t n = keyImages.size(0);
  if (n % groups != 0) {
    throw Error(ErrorCode::kInvalidArgument, "shuffleGroups " + std::to_string(groups) +
                                                 " must divide the batch size, which is " + std::to_string(n));
  }
  // Shuffle, run G independent sub-batches (BN statistics per sub-batch, like G GPUs), unshuffle
  // the keys and every block feature.
  at::Tensor perm = at::randperm(n, generator, at::TensorOptions().dtype(at::kLong)).to(keyImages.device());
  at::Tensor inverse = perm.argsort();
  std::vector<at::Tensor> embeddings;
  std::array<std::vector<at::Tensor>, 4> blocks;
  for (const at::Tensor& chunk : keyImages.index_select(0, perm).chunk(groups, 0)) {
    models::EncoderOutput out = encode(encoderK, chunk);
    embeddings.push_back(out.embedding);
    for (size_t i = 0; i < 4; ++i) blocks[i].push_back(out.blocks[i]);
  }
  models::EncoderOutput out;
  out.embedding = at::cat(embeddings, 0).index_select(0, inverse);
  for (size_t i = 0; i < 4; ++i) out.blocks[i] = at::cat(blocks[i], 0).index_select(0, inverse);
  return out;
}

StepLosses MocoImpl::forwardStep(const at::Tensor& queryImages, const at::Tensor& keyImages, double keyMomentum,
                                 at::Generator& generator) {
  // 1. queries, with gradient
  models::EncoderOutput qOut = encode(encoderQ, queryImages);
  at::Tensor q = l2Normalize(qOut.embedding);

  // 2. keys, without gradient, after the momentum update
  models::EncoderOutput kOut;
  at::Tensor k;
  {
    at::NoGradGuard noGrad;
    momentumUpdate(keyMomentum);
    kOut = keyForward(keyImages, generator);
    k = l2Normalize(kOut.embedding);
  }

  // 3. InfoNCE against a snapshot of the queue (the enqueue below must not alter what the
  //    backward pass reads), 4. enqueue: the current keys are never their own negatives.
  StepLosses out;
  losses::InfoNceResult nce = losses::infoNce(q, k, queue.clone(), config_.temperature);
  enqueue(k);
  out.infoNce = nce.loss;
  out.logits = nce.logits.detach();

  // 5. block terms
  at::Tensor total = nce.loss;
  for (size_t i = 0; i < 4; ++i) {
    at::Tensor term;
    if (config_.intermediate == train::IntermediateLoss::kMse) {
      term = losses::layerMse(qOut.blocks[i], kOut.blocks[i], config_.msePoolSizes[i], config_.mseWeights[i]);
    } else if (config_.intermediate == train::IntermediateLoss::kBarlow) {
      at::Tensor yq = at::adaptive_avg_pool2d(qOut.blocks[i], {1, 1}).flatten(1);
      at::Tensor yk = at::adaptive_avg_pool2d(kOut.blocks[i], {1, 1}).flatten(1);
      // Same call order as the reference: project both views, then normalise both.
      at::Tensor z1 = projectors[i]->project(yq);
      at::Tensor z2 = projectors[i]->project(yk);
      at::Tensor n1 = projectors[i]->normalize(z1);
      at::Tensor n2 = projectors[i]->normalize(z2);
      term = losses::barlowTwinsLoss(n1, n2, config_.barlow);
    } else {
      term = at::zeros({}, nce.loss.options());
    }
    out.blocks[i] = term;
    if (config_.intermediate != train::IntermediateLoss::kNone) total = total + term;
  }
  out.total = total;
  return out;
}

}  // namespace imlm::ssl

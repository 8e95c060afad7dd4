#include "core/ssl/moco.h"

#include <string>

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>

#include "core/compat.h"
#include "core/distributed/sync_batch_norm.h"
#include "core/errors.h"
#include "core/l2_normalize.h"
#include "core/losses/info_nce.h"

namespace imlm::ssl {
namespace {

/**
 * A host tensor (a permutation drawn from the CPU generator) on `device` without making the host
 * wait: a copy from pageable memory blocks until the device's stream reaches it, one from pinned
 * memory is queued like a kernel.
 */
at::Tensor toDeviceAsync(const at::Tensor& host, const c10::Device& device) {
  if (device.is_cpu()) return host;
  return host.pin_memory().to(device, /*non_blocking=*/true);
}

/** Throws unless `groups` (the option `option`) divides `size`, the size of `batch`. */
void requireDivides(const char* option, int64_t groups, const char* batch, int64_t size) {
  if (size % groups != 0) {
    throw Error(ErrorCode::kInvalidArgument, std::string(option) + " " + std::to_string(groups) + " must divide " + batch +
                                                 ", which is " + std::to_string(size));
  }
}

}  // namespace

MocoImpl::MocoImpl(const models::ResNetOptions& backbone, const MocoOptions& options) : options_(options) {
  if (options.queueSize < 1) {
    throw Error(ErrorCode::kInvalidArgument, "expected queueSize >= 1 but received " + std::to_string(options.queueSize));
  }
  if (options.bnGroups < 1) {
    throw Error(ErrorCode::kInvalidArgument, "expected bnGroups >= 1 but received " + std::to_string(options.bnGroups));
  }
  if (options.shuffleGroups < 1) {
    throw Error(ErrorCode::kInvalidArgument,
                "expected shuffleGroups >= 1 but received " + std::to_string(options.shuffleGroups));
  }
  encoderQ = register_module("encoder_q", models::ResNet(backbone));
  encoderK = register_module("encoder_k", models::ResNet(backbone));
  for (auto& p : encoderK->parameters()) p.set_requires_grad(false);
  queue = register_buffer("queue", at::zeros({backbone.embeddingDim, options.queueSize}));
  queuePtr = register_buffer("queue_ptr", at::zeros({1}, at::TensorOptions().dtype(at::kLong)));
  intermediate_ = losses::makeIntermediateLoss(options.intermediate, {encoderQ->blockChannels(), options.bnGroups});
  for (const auto& [name, module] : intermediate_->modules()) register_module(name, module);
}

void MocoImpl::initialize(at::Generator& generator) {
  at::NoGradGuard noGrad;
  encoderQ->initialize(generator);
  intermediate_->initialize(generator);
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

void MocoImpl::keepQueuePointerOnHost() {
  if (!queuePtr.device().is_cpu()) queuePtr.set_data(queuePtr.to(c10::Device(c10::kCPU)));
}

int64_t MocoImpl::queuePosition() const {
  if (!queuePtr.device().is_cpu()) throw Error(ErrorCode::kInternal, "queue_ptr left the CPU");
  // A host tensor's memory, read without an operator (no synchronisation, nothing recorded).
  return queuePtr.data_ptr<int64_t>()[0];
}

void MocoImpl::enqueue(const at::Tensor& keys) {
  at::NoGradGuard noGrad;
  const int64_t n = keys.size(0);
  const int64_t capacity = queue.size(1);
  const int64_t ptr = queuePosition();
  // With more keys than slots only the last `capacity` survive; they land where they would have.
  const int64_t kept = std::min(n, capacity);
  const int64_t first = (ptr + (n - kept)) % capacity;
  const at::Tensor columns = keys.narrow(0, n - kept, kept).t();  // D×kept
  // At most two contiguous runs of columns: up to the end of the queue, then from its start.
  const int64_t head = std::min(kept, capacity - first);
  queue.narrow(1, first, head).copy_(columns.narrow(1, 0, head));
  if (head < kept) queue.narrow(1, 0, kept - head).copy_(columns.narrow(1, head, kept - head));
  queuePtr.data_ptr<int64_t>()[0] = (ptr + n) % capacity;
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

models::EncoderOutput MocoImpl::encodeChunks(models::ResNet& encoder, const std::vector<at::Tensor>& chunks) {
  std::vector<at::Tensor> embeddings;
  std::array<std::vector<at::Tensor>, 4> blocks;
  for (const at::Tensor& chunk : chunks) {
    models::EncoderOutput out = encode(encoder, chunk);
    embeddings.push_back(out.embedding);
    for (size_t i = 0; i < 4; ++i) blocks[i].push_back(out.blocks[i]);
  }
  models::EncoderOutput out;
  out.embedding = at::cat(embeddings, 0);
  for (size_t i = 0; i < 4; ++i) out.blocks[i] = at::cat(blocks[i], 0);
  return out;
}

models::EncoderOutput MocoImpl::encodeInGroups(models::ResNet& encoder, const at::Tensor& images) {
  const int64_t groups = options_.bnGroups;
  if (groups == 1) return encode(encoder, images);
  requireDivides("bnGroups", groups, "the batch size per rank", images.size(0));
  return encodeChunks(encoder, images.chunk(groups, 0));
}

models::EncoderOutput MocoImpl::keyForward(const at::Tensor& keyImages, at::Generator& generator) {
  if (group_ && shuffleBn_) return keyForwardShuffledAcrossRanks(keyImages, generator);
  const int64_t groups = options_.shuffleGroups;
  if (groups == 1) return encodeInGroups(encoderK, keyImages);
  const int64_t n = keyImages.size(0);
  requireDivides("shuffleGroups", groups, "the batch size", n);
  // Shuffle, run G independent sub-batches (BN statistics per sub-batch, like G GPUs), unshuffle
  // the keys and every block feature.
  at::Tensor perm = toDeviceAsync(at::randperm(n, generator, at::TensorOptions().dtype(at::kLong)), keyImages.device());
  at::Tensor inverse = perm.argsort();
  models::EncoderOutput out = encodeChunks(encoderK, keyImages.index_select(0, perm).chunk(groups, 0));
  out.embedding = out.embedding.index_select(0, inverse);
  for (auto& block : out.blocks) block = block.index_select(0, inverse);
  return out;
}

models::EncoderOutput MocoImpl::keyForwardShuffledAcrossRanks(const at::Tensor& keyImages, at::Generator& generator) {
  const int64_t n = keyImages.size(0);
  const int64_t rank = group_->rank();
  const int64_t total = n * group_->size();
  const auto layout = keyImages.suggest_memory_format();
  // MoCo's _batch_shuffle_ddp: every rank gathers the global key batch and takes its slice of
  // one permutation, drawn on rank 0 and broadcast.
  at::Tensor all = group_->allGather(keyImages);
  at::Tensor perm = rank == 0 ? toDeviceAsync(at::randperm(total, generator, at::TensorOptions().dtype(at::kLong)), keyImages.device())
                              : at::empty({total}, at::TensorOptions().dtype(at::kLong).device(keyImages.device()));
  group_->broadcast(perm, 0);
  at::Tensor mine = all.index_select(0, perm.narrow(0, rank * n, n)).contiguous(layout);
  models::EncoderOutput shuffled = encodeInGroups(encoderK, mine);
  // _batch_unshuffle_ddp: global sample g sits at position inverse[g] of the shuffled order;
  // this rank's samples are g = rank·n … rank·n + n − 1. The same for the keys and for every
  // block feature (the reference un-shuffles only the keys: docs/method.md, "What imlm-native
  // does about them").
  at::Tensor own = perm.argsort().narrow(0, rank * n, n);
  models::EncoderOutput out;
  out.embedding = group_->allGather(shuffled.embedding).index_select(0, own);
  if (intermediate_->addsTerms()) {
    for (size_t i = 0; i < 4; ++i) {
      out.blocks[i] = group_->allGather(intermediate_->reduceKeyFeature(i, shuffled.blocks[i])).index_select(0, own);
    }
  }
  return out;
}

StepLosses MocoImpl::forwardStep(const at::Tensor& queryImages, const at::Tensor& keyImages, double keyMomentum,
                                 at::Generator& generator) {
  // SyncBatchNorm: the batch norms run in this step (this thread) normalise over all ranks.
  const dist::SyncBatchNormScope syncBn(syncBn_ ? group_.get() : nullptr);
  // 1. queries, with gradient
  models::EncoderOutput qOut = encodeInGroups(encoderQ, queryImages);
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
  losses::InfoNceResult nce = losses::infoNce(q, k, queue.clone(), options_.temperature);
  // Across ranks every rank enqueues the keys of all ranks in rank order, the order one process
  // with the global batch would enqueue them in, so the queues stay identical.
  enqueue(group_ ? group_->allGather(k) : k);
  out.infoNce = nce.loss;
  out.logits = nce.logits.detach();

  // 5. block terms
  at::Tensor total = nce.loss;
  for (size_t i = 0; i < 4; ++i) {
    out.blocks[i] = intermediate_->term(i, qOut.blocks[i], kOut.blocks[i], group_.get());
    if (intermediate_->addsTerms()) total = total + out.blocks[i];
  }
  out.total = total;
  return out;
}

}  // namespace imlm::ssl

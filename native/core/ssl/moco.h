// MoCo v2 with an intermediate-layer term (Kaku et al. 2021): query and key encoders, the
// queue, the intermediate loss (core/losses/intermediate_loss.h) with its modules, and one
// forward step in the order of docs/formats.md. The optimiser step is the trainer's.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "core/distributed/process_group.h"
#include "core/losses/intermediate_loss.h"
#include "core/models/resnet.h"
#include "core/ssl/moco_options.h"

namespace imlm::ssl {

struct StepLosses {
  at::Tensor total;                  // scalar, with gradient
  at::Tensor infoNce;                // scalar
  std::array<at::Tensor, 4> blocks;  // scalars (zeros for loss none)
  at::Tensor logits;                 // N×(1+K), detached
};

class MocoImpl : public torch::nn::Module {
 public:
  MocoImpl(const models::ResNetOptions& backbone, const MocoOptions& options);

  /** Initialises every weight from `generator`, copies encoder_q into encoder_k, fills the queue. */
  void initialize(at::Generator& generator);

  /**
   * Steps 1–5 of docs/formats.md: query forward, momentum update, key forward (no gradient,
   * optional shuffle-BN emulation), InfoNCE against the queue, enqueue, block terms.
   */
  StepLosses forwardStep(const at::Tensor& queryImages, const at::Tensor& keyImages, double keyMomentum,
                         at::Generator& generator);

  /**
   * Data-parallel mode (docs/distributed.md): the keys of all ranks are gathered before the
   * enqueue, so every rank's queue stays identical; with `shuffleBn` the key batch is shuffled
   * across ranks (MoCo's shuffle-BN) and the keys and every block feature the intermediate loss
   * reads are un-shuffled with the same permutation; the intermediate loss gets the group (Barlow
   * Twins sums its cross-correlation over ranks). With `syncBn` every batch norm (both encoders,
   * the intermediate loss's) uses the
   * global batch's statistics instead (SyncBatchNorm) and the key batch is not shuffled.
   * Null: one process, no collectives.
   */
  void setProcessGroup(std::shared_ptr<dist::ProcessGroup> group, bool shuffleBn, bool syncBn = false) {
    group_ = std::move(group);
    syncBn_ = syncBn;
    shuffleBn_ = shuffleBn && !syncBn;
  }

  /** Run the encoders under CUDA autocast with this dtype (losses, queue, projectors stay fp32). */
  void setAutocast(std::optional<c10::ScalarType> dtype) { autocast_ = dtype; }

  /** p_k ← m·p_k + (1 − m)·p_q over parameters (not buffers), with fused multi-tensor ops. */
  void momentumUpdate(double m);

  /** Writes keys (N×D) into the queue at the pointer, wrapping around; any N. */
  void enqueue(const at::Tensor& keys);

  /**
   * Moves queue_ptr back to the CPU after the module moved to a device: the pointer is host
   * state (read and advanced by the host each step, which on a GPU must not wait for the
   * device), while still a buffer, so it is saved, loaded and compared under its name.
   */
  void keepQueuePointerOnHost();
  /** The column the next key goes to. */
  int64_t queuePosition() const;

  /** Copies encoder_q's parameters and buffers into encoder_k (start of training, --init). */
  void syncKeyEncoder();

  models::ResNet encoderQ{nullptr};
  models::ResNet encoderK{nullptr};
  at::Tensor queue;     // D×K
  at::Tensor queuePtr;  // int64 [1], on the CPU (keepQueuePointerOnHost)

 private:
  models::EncoderOutput keyForward(const at::Tensor& keyImages, at::Generator& generator);
  /** keyForward across ranks: gather, shuffle by rank 0's permutation, encode, un-shuffle. */
  models::EncoderOutput keyForwardShuffledAcrossRanks(const at::Tensor& keyImages, at::Generator& generator);
  /** encode() over options.bnGroups consecutive sub-batches (BN statistics per sub-batch). */
  models::EncoderOutput encodeInGroups(models::ResNet& encoder, const at::Tensor& images);
  /** encode() of each of `chunks` in turn, the outputs concatenated in that order. */
  models::EncoderOutput encodeChunks(models::ResNet& encoder, const std::vector<at::Tensor>& chunks);

  /** An encoder forward, under autocast when enabled, with float32 outputs. */
  models::EncoderOutput encode(models::ResNet& encoder, const at::Tensor& images);

  MocoOptions options_;
  std::unique_ptr<losses::IntermediateLoss> intermediate_;
  std::optional<c10::ScalarType> autocast_;
  std::shared_ptr<dist::ProcessGroup> group_;
  bool shuffleBn_ = true;
  bool syncBn_ = false;
};
TORCH_MODULE(Moco);

}  // namespace imlm::ssl

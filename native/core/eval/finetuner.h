// Full fine-tuning (docs/method.md, "Fine-tuning in the reference"): a ResNet whose fc is replaced by a classifier Linear(F, K),
// every parameter trained with Adam on augmented batches of the labelled subset, on the
// calling (worker) thread. Batches are functions of the step (epoch permutation from
// (seed, epoch), augmentation from (seed, step)), so a resumed run sees the same batches as an
// uninterrupted one. Model selection and early stopping are orchestrated by the caller
// (lib/eval/finetune.ts) through predict() on the validation split.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "core/augment/augment.h"
#include "core/eval/progress.h"
#include "core/io/safetensors.h"
#include "core/models/resnet.h"
#include "core/optim/adam.h"
#include "core/serial_thread.h"
#include "core/task.h"

namespace imlm::eval {

struct FinetuneConfig {
  models::ResNetOptions backbone;  // the architecture when starting from scratch (its head is replaced)
  std::string checkpoint;          // training state or backbone file; empty: random initialisation
  Task task = Task::kMulticlass;
  int64_t numClasses = 2;
  double lr = 1e-3;
  double weightDecay = 0.0;
  int64_t batchSize = 16;
  augment::AugmentPolicy policy;  // outputSize is set to the image size
  int64_t imageSize = 0;          // 0: as stored
  std::string device = "auto";
  uint64_t seed = 0;
  int64_t threads = 0;
};

struct FinetuneSummary {
  int64_t stepsRun = 0;
  bool cancelled = false;
  double lastLoss = 0;
  double meanLoss = 0;  // over the steps of this run
  double seconds = 0;
  double imagesPerSecond = 0;
};

class Finetuner {
 public:
  /** trainImages U8 [n, C, H, W] (the labelled subset), trainLabels I64 [n] or U8 [n, L]. */
  Finetuner(FinetuneConfig config, at::Tensor trainImages, at::Tensor trainLabels);

  /** Up to `steps` optimiser steps; progress every `reportEvery`; stops between steps on cancel. */
  FinetuneSummary run(int64_t steps, int64_t reportEvery, const EvalProgressFn& progress, const std::atomic<bool>& cancel);

  /** Probabilities [N, K] (softmax, or sigmoid for multilabel) in eval mode, on the CPU. */
  at::Tensor predict(const at::Tensor& images, int64_t batchSize, const EvalProgressFn& progress,
                     const std::atomic<bool>* cancel);

  /** The network with torchvision names (fc = the classifier), `optimizer.*` and `step`. */
  io::TensorMap state() const;
  /** Replaces the state (validated first); `origin` names the file in errors. */
  void loadState(const io::TensorMap& state, const std::string& origin);

  int64_t stepsCompleted() const { return stepsCompleted_; }
  int64_t stepsPerEpoch() const { return stepsPerEpoch_; }
  const c10::Device& device() const { return device_; }
  /** How the backbone was initialised, in words (for results files). */
  const std::string& initialisation() const { return initialisation_; }
  const models::ResNetOptions& networkOptions() const { return model_->options(); }

 private:
  /** One optimiser step (step index t); returns its loss. */
  double step(int64_t t);
  FinetuneSummary runHere(int64_t steps, int64_t reportEvery, const EvalProgressFn& progress, const std::atomic<bool>& cancel);
  at::Tensor predictHere(const at::Tensor& images, int64_t batchSize, const EvalProgressFn& progress,
                         const std::atomic<bool>* cancel);

  FinetuneConfig config_;
  c10::Device device_;
  at::Tensor images_;
  at::Tensor labels_;
  models::ResNet model_{nullptr};
  std::unique_ptr<optim::Adam> optimizer_;
  int64_t batch_ = 0;
  int64_t stepsPerEpoch_ = 0;
  std::atomic<int64_t> stepsCompleted_{0};
  std::string initialisation_;
  int64_t orderEpoch_ = -1;  // the epoch order_ belongs to
  at::Tensor order_;         // that epoch's permutation of the training images
  // run and predict on one thread, so cuDNN's per-thread benchmark cache stays warm between
  // the epochs' calls (core/serial_thread.h). Last: joined before the members its jobs use go.
  SerialThread thread_;
};

}  // namespace imlm::eval

// A network read once and kept for in-memory embedding (lib/eval/encoder.ts): the file is read
// as `embed` reads it (core/eval/backbone_file.h) and every call runs extractFeatures
// (core/eval/features.h), so the features equal the features file's for the same images. The
// calls run on one long-lived thread of the encoder's own (core/serial_thread.h), which keeps
// cuDNN's per-thread caches warm between calls.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "core/eval/features.h"
#include "core/eval/progress.h"
#include "core/models/resnet.h"
#include "core/serial_thread.h"

namespace imlm::eval {

/**
 * Images as a caller hands them over, checked and put in the [N, C, H, W] form extractFeatures
 * takes: U8 (0..255) or floating (0..1), [N, H, W] (one channel) or [N, C, H, W] with C the
 * network's channels, N >= 1, every value finite. Throws kInvalidArgument (kNonFinite for NaN or
 * infinite values) saying what was expected, what was received and what to do.
 */
at::Tensor checkedImages(const at::Tensor& images, int64_t inChannels);

class Encoder {
 public:
  /** Reads `checkpoint` (a training state, backbone or fine-tuned state) onto `device`. */
  Encoder(const std::string& checkpoint, const std::string& device, int64_t threads);

  /** Features of `images` (checkedImages, then extractFeatures); the embedding only when the file has a head. */
  Features embed(const at::Tensor& images, FeatureOptions options, const EvalProgressFn& progress, const std::atomic<bool>* cancel);

  const models::ResNetOptions& networkOptions() const { return model_->options(); }
  std::array<int64_t, 4> blockChannels() const { return model_->blockChannels(); }
  bool hasHead() const { return hasHead_; }
  /** "train-state", "backbone" or "finetune-state". */
  const std::string& kind() const { return kind_; }
  const c10::Device& device() const { return device_; }

 private:
  c10::Device device_;
  int64_t threads_;
  models::ResNet model_{nullptr};
  bool hasHead_ = false;
  std::string kind_;
  // Last: joined before the members its jobs use go.
  SerialThread thread_;
};

}  // namespace imlm::eval

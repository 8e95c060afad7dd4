// The ResNets of core/models/architectures.cc, equal to torchvision's (v1.5: the stride sits on the 3×3 conv), with
// torchvision's parameter and buffer names, a `small` stem for small images, 1 or 3 input
// channels, and a forward that returns the embedding and the four block outputs.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "core/models/batch_norm.h"

namespace imlm::models {

enum class Stem {
  kStandard,  // 7×7 stride-2 conv + 3×3 stride-2 max-pool (ImageNet-sized inputs)
  kSmall,     // 3×3 stride-1 conv, no max-pool (32×32-sized inputs)
};

enum class Head {
  kFc,   // Linear(F, D)
  kMlp,  // Linear(F, F) → ReLU → Linear(F, D) (MoCo v2)
};

// Every reader fills arch, stem and inChannels (the bridge from resolved TypeScript options, the
// checkpoint reader from the weights); their defaults live in lib/config/train-config.ts and
// lib/eval/options.ts only.
struct ResNetOptions {
  std::string arch;  // a name in core/models/architectures.cc
  Stem stem = Stem::kStandard;
  int64_t inChannels = 0;  // 1 or 3
  bool zeroInitResidual = false;
  // A head-less backbone file is read into a network with a placeholder Linear(F, 128) head that
  // nothing loads or uses; files with a head set it from their weights.
  int64_t embeddingDim = 128;
  Head head = Head::kFc;
};

/** Throws imlm::Error(kInvalidArgument) for an unknown architecture name. */
void checkArch(const std::string& arch);

struct EncoderOutput {
  at::Tensor embedding;              // N×D (not normalised)
  std::array<at::Tensor, 4> blocks;  // outputs of layer1..layer4: N×C_i×H_i×W_i
};

class ResNetImpl : public torch::nn::Module {
 public:
  explicit ResNetImpl(const ResNetOptions& options);

  EncoderOutput forward(const at::Tensor& images);

  /** Re-initialises every parameter from `generator` (torchvision's scheme). */
  void initialize(at::Generator& generator);

  /** F: width of the pooled feature (512 with BasicBlocks, 2048 with Bottlenecks). */
  int64_t featureDim() const { return featureDim_; }
  /** C_1..C_4: channels of the block outputs. */
  std::array<int64_t, 4> blockChannels() const { return blockChannels_; }
  const ResNetOptions& options() const { return options_; }

 private:
  ResNetOptions options_;
  int64_t featureDim_ = 0;
  std::array<int64_t, 4> blockChannels_{};
  torch::nn::Conv2d conv1{nullptr};
  BatchNorm2d bn1{nullptr};
  std::array<torch::nn::Sequential, 4> layers_{nullptr, nullptr, nullptr, nullptr};
  torch::nn::Linear fcLinear_{nullptr};  // head kFc, registered as "fc"
  torch::nn::Sequential fcMlp_{nullptr};  // head kMlp, registered as "fc"
};
TORCH_MODULE(ResNet);

}  // namespace imlm::models

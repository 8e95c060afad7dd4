#include "core/models/resnet.h"

#include <cmath>

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>
#include <torch/nn/functional/pooling.h>
#include <torch/nn/modules/activation.h>

#include "core/errors.h"
#include "core/models/architectures.h"

namespace imlm::models {
namespace {

namespace nn = torch::nn;

nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).bias(false));
}

/** Two 3×3 convs (ResNet-18/34). */
class BasicBlockImpl : public nn::Module {
 public:
  static constexpr int64_t kExpansion = 1;

  BasicBlockImpl(int64_t inPlanes, int64_t planes, int64_t stride) {
    conv1 = register_module("conv1", conv(inPlanes, planes, 3, stride, 1));
    bn1 = register_module("bn1", BatchNorm2d(planes));
    conv2 = register_module("conv2", conv(planes, planes, 3, 1, 1));
    bn2 = register_module("bn2", BatchNorm2d(planes));
    if (stride != 1 || inPlanes != planes) {
      downsample = register_module(
          "downsample", nn::Sequential(conv(inPlanes, planes, 1, stride, 0), BatchNorm2d(planes)));
    }
  }

  // In-place ReLUs and residual add, as torchvision (ReLU(inplace=True)): fewer allocations.
  at::Tensor forward(const at::Tensor& x) {
    at::Tensor out = bn1(conv1(x)).relu_();
    out = bn2(conv2(out));
    out += downsample ? downsample->forward(x) : x;
    return out.relu_();
  }

  /** The BN whose weight zero_init_residual sets to 0. */
  BatchNorm2d lastBn() const { return bn2; }

  nn::Conv2d conv1{nullptr}, conv2{nullptr};
  BatchNorm2d bn1{nullptr}, bn2{nullptr};
  nn::Sequential downsample{nullptr};
};
TORCH_MODULE(BasicBlock);

/** 1×1 → 3×3 (with the stride: v1.5) → 1×1 ×4 (ResNet-50). */
class BottleneckImpl : public nn::Module {
 public:
  static constexpr int64_t kExpansion = 4;

  BottleneckImpl(int64_t inPlanes, int64_t planes, int64_t stride) {
    conv1 = register_module("conv1", conv(inPlanes, planes, 1, 1, 0));
    bn1 = register_module("bn1", BatchNorm2d(planes));
    conv2 = register_module("conv2", conv(planes, planes, 3, stride, 1));
    bn2 = register_module("bn2", BatchNorm2d(planes));
    conv3 = register_module("conv3", conv(planes, planes * kExpansion, 1, 1, 0));
    bn3 = register_module("bn3", BatchNorm2d(planes * kExpansion));
    if (stride != 1 || inPlanes != planes * kExpansion) {
      downsample = register_module("downsample", nn::Sequential(conv(inPlanes, planes * kExpansion, 1, stride, 0),
                                                                 BatchNorm2d(planes * kExpansion)));
    }
  }

  at::Tensor forward(const at::Tensor& x) {
    at::Tensor out = bn1(conv1(x)).relu_();
    out = bn2(conv2(out)).relu_();
    out = bn3(conv3(out));
    out += downsample ? downsample->forward(x) : x;
    return out.relu_();
  }

  BatchNorm2d lastBn() const { return bn3; }

  nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  BatchNorm2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  nn::Sequential downsample{nullptr};
};
TORCH_MODULE(Bottleneck);

template <typename Block>
nn::Sequential makeLayer(int64_t& inPlanes, int64_t planes, int64_t count, int64_t stride) {
  nn::Sequential layer;
  layer->push_back(Block(inPlanes, planes, stride));
  inPlanes = planes * Block::Impl::kExpansion;
  for (int64_t i = 1; i < count; ++i) layer->push_back(Block(inPlanes, planes, 1));
  return layer;
}

/** fan_out of a conv weight [out, in, kh, kw] (what kaiming_normal_(mode='fan_out') uses). */
int64_t fanOut(const at::Tensor& w) { return w.size(0) * (w.dim() > 2 ? w[0][0].numel() : 1); }

}  // namespace

void checkArch(const std::string& arch) { architectureNamed(arch); }

ResNetImpl::ResNetImpl(const ResNetOptions& options) : options_(options) {
  const Architecture& spec = architectureNamed(options.arch);
  if (options.inChannels != 1 && options.inChannels != 3) {
    throw Error(ErrorCode::kInvalidArgument,
                "expected inChannels 1 or 3 but received " + std::to_string(options.inChannels));
  }
  if (options.embeddingDim < 1) {
    throw Error(ErrorCode::kInvalidArgument,
                "expected embeddingDim >= 1 but received " + std::to_string(options.embeddingDim));
  }
  conv1 = options.stem == Stem::kSmall ? conv(options.inChannels, 64, 3, 1, 1) : conv(options.inChannels, 64, 7, 2, 3);
  register_module("conv1", conv1);
  bn1 = register_module("bn1", BatchNorm2d(64));
  int64_t inPlanes = 64;
  const std::array<int64_t, 4> planes{64, 128, 256, 512};
  for (size_t i = 0; i < 4; ++i) {
    const int64_t stride = i == 0 ? 1 : 2;
    layers_[i] = spec.bottleneck ? makeLayer<Bottleneck>(inPlanes, planes[i], spec.blocks[i], stride)
                                 : makeLayer<BasicBlock>(inPlanes, planes[i], spec.blocks[i], stride);
    register_module("layer" + std::to_string(i + 1), layers_[i]);
    blockChannels_[i] = inPlanes;
  }
  featureDim_ = inPlanes;
  if (options.head == Head::kFc) {
    fcLinear_ = register_module("fc", nn::Linear(featureDim_, options.embeddingDim));
  } else {
    fcMlp_ = register_module("fc", nn::Sequential(nn::Linear(featureDim_, featureDim_), nn::ReLU(),
                                                  nn::Linear(featureDim_, options.embeddingDim)));
  }
}

void ResNetImpl::initialize(at::Generator& generator) {
  at::NoGradGuard noGrad;
  // Convs: kaiming_normal_(fan_out, relu); BN: weight 1, bias 0; Linear: PyTorch's default
  // (kaiming_uniform_(a=√5) ⇒ U(±1/√fan_in) for weight and bias). Drawn from `generator` so a
  // seed reproduces the same network.
  for (auto& module : modules(/*include_self=*/false)) {
    if (auto* c = module->as<nn::Conv2d>()) {
      const double std = std::sqrt(2.0 / static_cast<double>(fanOut(c->weight)));
      c->weight.normal_(0.0, std, generator);
    } else if (auto* b = module->as<BatchNorm2d>()) {
      b->weight.fill_(1.0);
      b->bias.zero_();
    } else if (auto* l = module->as<nn::Linear>()) {
      const double bound = 1.0 / std::sqrt(static_cast<double>(l->weight.size(1)));
      l->weight.uniform_(-bound, bound, generator);
      if (l->bias.defined()) l->bias.uniform_(-bound, bound, generator);
    }
  }
  if (options_.zeroInitResidual) {
    for (auto& layer : layers_) {
      for (auto& block : layer->children()) {
        if (auto* basic = block->as<BasicBlock>()) basic->lastBn()->weight.zero_();
        if (auto* bottleneck = block->as<Bottleneck>()) bottleneck->lastBn()->weight.zero_();
      }
    }
  }
}

EncoderOutput ResNetImpl::forward(const at::Tensor& images) {
  at::Tensor x = bn1(conv1(images)).relu_();
  if (options_.stem == Stem::kStandard) x = at::max_pool2d(x, /*kernel_size=*/{3, 3}, /*stride=*/{2, 2}, /*padding=*/{1, 1});
  EncoderOutput out;
  for (size_t i = 0; i < 4; ++i) {
    x = layers_[i]->forward(x);
    out.blocks[i] = x;
  }
  at::Tensor pooled = at::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
  out.embedding = fcLinear_ ? fcLinear_(pooled) : fcMlp_->forward(pooled);
  return out;
}

}  // namespace imlm::models

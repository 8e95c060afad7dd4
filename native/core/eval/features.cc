#include "core/eval/features.h"

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>

#include "core/errors.h"
#include "core/l2_normalize.h"
#include "core/tensor_io.h"

namespace imlm::eval {

at::Tensor prepareImages(const at::Tensor& images, int64_t imageSize, const c10::Device& device) {
  if (images.dim() != 4) {
    throw Error(ErrorCode::kInvalidArgument, "expected images [N, C, H, W] but received " + shapeString(images.sizes()));
  }
  at::Tensor x = images.to(device, at::kFloat);
  if (images.scalar_type() == at::kByte) x.div_(255.0);
  if (imageSize > 0 && (x.size(2) != imageSize || x.size(3) != imageSize)) {
    x = at::upsample_bilinear2d(x, {imageSize, imageSize}, /*align_corners=*/false);
  }
  return x;
}

std::array<at::Tensor, 4> pooledBlocks(const std::array<at::Tensor, 4>& blocks) {
  std::array<at::Tensor, 4> out;
  for (size_t k = 0; k < 4; ++k) out[k] = blocks[k].mean({2, 3});
  return out;
}

Features extractFeatures(models::ResNetImpl& model, const at::Tensor& images, const c10::Device& device,
                         const FeatureOptions& options, const EvalProgressFn& progress, const std::atomic<bool>* cancel) {
  if (options.batchSize < 1) throw Error(ErrorCode::kInvalidArgument, "expected a batch size >= 1");
  if (images.dim() != 4 || images.size(1) != model.options().inChannels) {
    throw Error(ErrorCode::kInvalidArgument, "expected images [N, " + std::to_string(model.options().inChannels) +
                                                 ", H, W] for this network but received " + shapeString(images.sizes()));
  }
  // NoGrad rather than InferenceMode: the features feed heads trained with autograd later,
  // and inference tensors cannot be saved for backward.
  at::NoGradGuard noGrad;
  model.to(device);
  model.eval();
  const int64_t n = images.size(0);
  std::array<std::vector<at::Tensor>, 4> blocks;
  std::vector<at::Tensor> embeddings;
  for (int64_t first = 0; first < n; first += options.batchSize) {
    throwIfCancelled(cancel);
    const int64_t last = std::min(n, first + options.batchSize);
    models::EncoderOutput out = model.forward(prepareImages(images.slice(0, first, last), options.imageSize, device));
    const std::array<at::Tensor, 4> pooled = pooledBlocks(out.blocks);
    for (size_t k = 0; k < 4; ++k) blocks[k].push_back(pooled[k].to(at::kCPU));
    if (options.embedding) embeddings.push_back(l2Normalize(out.embedding).to(at::kCPU));
    if (progress) progress({"features", last, n, 0.0});
  }
  Features features;
  for (size_t k = 0; k < 4; ++k) {
    features.blocks[k] = n > 0 ? at::cat(blocks[k]) : at::empty({0, model.blockChannels()[k]});
  }
  if (options.embedding) features.embedding = n > 0 ? at::cat(embeddings) : at::empty({0, model.options().embeddingDim});
  return features;
}

}  // namespace imlm::eval

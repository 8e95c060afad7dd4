// Trainer::queryRepresentation (core/train/trainer.h): the kNN monitor's view of the query
// encoder, in its own unit so the trainer's does not pull in the evaluation code.
#include <ATen/Functions.h>
#include <ATen/core/grad_mode.h>

#include "core/errors.h"
#include "core/eval/features.h"
#include "core/tensor_io.h"
#include "core/train/trainer.h"

namespace imlm::train {

at::Tensor Trainer::queryRepresentation(const at::Tensor& images, int64_t batchSize) {
  if (batchSize < 1) throw Error(ErrorCode::kInvalidArgument, "expected a batch size >= 1 but received " + std::to_string(batchSize));
  if (images.dim() != 4 || images.size(1) != config_.backbone.inChannels) {
    throw Error(ErrorCode::kInvalidArgument, "expected images [N, " + std::to_string(config_.backbone.inChannels) +
                                                 ", H, W] for this network but received " + shapeString(images.sizes()));
  }
  at::NoGradGuard noGrad;
  models::ResNetImpl& encoder = *model_->encoderQ;
  const bool wasTraining = encoder.is_training();
  encoder.eval();
  std::vector<at::Tensor> parts;
  try {
    const auto layout = config_.channelsLast ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
    for (int64_t first = 0; first < images.size(0); first += batchSize) {
      const int64_t last = std::min(images.size(0), first + batchSize);
      const at::Tensor x = eval::prepareImages(images.slice(0, first, last), config_.imageSize, device_).contiguous(layout);
      parts.push_back(encoder.forward(x).blocks[3].mean({2, 3}).to(at::kCPU, at::kFloat));
    }
  } catch (...) {
    encoder.train(wasTraining);
    throw;
  }
  encoder.train(wasTraining);
  return parts.empty() ? at::empty({0, encoder.featureDim()}) : at::cat(parts);
}

}  // namespace imlm::train

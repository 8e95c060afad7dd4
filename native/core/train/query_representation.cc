// Trainer::queryRepresentation (core/train/trainer.h): the kNN monitor's view of the query
// encoder — eval::extractFeatures' pooled layer4 — in its own unit so the trainer's does not
// pull in the evaluation code.
#include "core/eval/features.h"
#include "core/train/trainer.h"

namespace imlm::train {

at::Tensor Trainer::queryRepresentation(const at::Tensor& images, int64_t batchSize) {
  models::ResNetImpl& encoder = *model_->encoderQ;
  const bool wasTraining = encoder.is_training();  // extractFeatures leaves the network in eval mode
  eval::FeatureOptions options;
  options.batchSize = batchSize;
  options.imageSize = config_.imageSize;
  options.embedding = false;
  try {
    at::Tensor pooled = eval::extractFeatures(encoder, images, device_, options, nullptr, nullptr).blocks[3];
    encoder.train(wasTraining);
    return pooled;
  } catch (...) {
    encoder.train(wasTraining);
    throw;
  }
}

}  // namespace imlm::train

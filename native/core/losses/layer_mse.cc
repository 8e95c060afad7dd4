#include "core/losses/layer_mse.h"

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>

#include "core/losses/intermediate_loss.h"

namespace imlm::losses {
namespace {

class LayerMseIntermediateLoss final : public IntermediateLoss {
 public:
  explicit LayerMseIntermediateLoss(const LayerMseOptions& options) : options_(options) {}

  at::Tensor reduceKeyFeature(size_t block, const at::Tensor& feature) const override {
    // layerMse pools to the pool size itself, and pooling a map already of that size is the
    // identity: the term reads the same numbers from the pooled feature.
    const int64_t side = options_.poolSizes[block];
    return at::adaptive_avg_pool2d(feature, {side, side});
  }

  at::Tensor term(size_t block, const at::Tensor& query, const at::Tensor& key, dist::ProcessGroup* group) override {
    return layerMse(query, key, options_.poolSizes[block], options_.weights[block]);
  }

 private:
  LayerMseOptions options_;
};

}  // namespace

at::Tensor layerMse(const at::Tensor& q, const at::Tensor& k, int64_t poolSize, double weight) {
  at::Tensor pq = at::adaptive_avg_pool2d(q, {poolSize, poolSize});
  at::Tensor pk = at::adaptive_avg_pool2d(k, {poolSize, poolSize});
  return (pq - pk).pow(2).mean() * weight;
}

std::unique_ptr<IntermediateLoss> makeLayerMseLoss(const IntermediateLossOptions& options, const EncoderBlocks& encoder) {
  return std::make_unique<LayerMseIntermediateLoss>(options.mse);
}

}  // namespace imlm::losses

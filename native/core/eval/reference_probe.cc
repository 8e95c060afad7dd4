#include "core/eval/reference_probe.h"

#include <chrono>
#include <cmath>
#include <limits>

#include <ATen/Functions.h>
#include <ATen/core/grad_mode.h>

#include "core/errors.h"
#include "core/eval/features.h"
#include "core/eval/selection_metric.h"

namespace imlm::eval {

LinearProbeResult fitLinearProbeThroughBackbone(models::ResNetImpl& model, const ThroughBackboneInputs& inputs,
                                                const LinearProbeOptions& options, const c10::Device& device,
                                                const EvalProgressFn& progress, const std::atomic<bool>* cancel) {
  if (options.method != HeadMethod::kAdam) {
    throw Error(ErrorCode::kInvalidArgument, "the through-backbone probe trains with mini-batch Adam (method 'adam')");
  }
  if (inputs.block < 1 || inputs.block > 4) throw Error(ErrorCode::kInvalidArgument, "expected block 1..4");
  const size_t k = static_cast<size_t>(inputs.block - 1);
  model.to(device);
  model.eval();
  const FeatureRows rows = [&](const at::Tensor& index) {
    at::NoGradGuard noGrad;
    const at::Tensor x = prepareImages(inputs.trainImages.index_select(0, index), inputs.imageSize, device);
    return pooledBlocks(model.forward(x).blocks)[k];
  };
  const at::Tensor targets = lossTargets(inputs.trainLabels, options.task, device);
  const int64_t featureDim = model.blockChannels()[k];
  FeatureOptions valOptions;
  valOptions.batchSize = inputs.valBatchSize;
  valOptions.imageSize = inputs.imageSize;
  valOptions.embedding = false;

  LinearProbeResult result;
  double best = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < options.sweep.size(); ++i) {
    const auto start = std::chrono::steady_clock::now();
    HeadFit fit = trainHead(rows, inputs.trainImages.size(0), featureDim, targets, options.sweep[i], options, device, progress, cancel);
    const at::Tensor valX = extractFeatures(model, inputs.valImages, device, valOptions, nullptr, cancel).blocks[k];
    LinearHead head{fit.weight, fit.bias, at::zeros({featureDim}, fit.weight.options()), at::ones({featureDim}, fit.weight.options())};
    at::Tensor valProbabilities = headProbabilities(head, valX, options.task);
    PointResult point{options.sweep[i], selectionMetric(valProbabilities, inputs.valLabels, options.task, options.metric), fit.objective,
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()};
    result.points.push_back(point);
    if (point.valMetric > best || (i == 0 && std::isnan(point.valMetric))) {
      if (!std::isnan(point.valMetric)) best = point.valMetric;
      result.chosen = static_cast<int64_t>(i);
      result.head = head;
      result.valProbabilities = valProbabilities;
    }
  }
  return result;
}

}  // namespace imlm::eval

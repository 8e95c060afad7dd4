#include "core/eval/linear_probe.h"

#include <chrono>
#include <cmath>
#include <limits>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <torch/optim/lbfgs.h>

#include "core/errors.h"
#include "core/eval/selection_metric.h"
#include "core/optim/adam.h"
#include "core/tensor_io.h"

namespace imlm::eval {
namespace {

at::Tensor objective(const at::Tensor& x, const at::Tensor& targets, const at::Tensor& weight, const at::Tensor& bias,
                     double weightDecay, Task task) {
  const at::Tensor logits = at::addmm(bias, x, weight.t());
  at::Tensor loss = task == Task::kMultilabel ? at::binary_cross_entropy_with_logits(logits, targets)
                                              : at::cross_entropy_loss(logits, targets);
  if (weightDecay != 0.0) loss = loss + 0.5 * weightDecay * weight.pow(2).sum();
  return loss;
}

void checkFinite(const at::Tensor& loss, const SweepPoint& point) {
  if (!std::isfinite(loss.item<double>())) {
    throw Error(ErrorCode::kNonFinite, "the linear head's loss became non-finite (lr " + std::to_string(point.lr) +
                                           ", weight decay " + std::to_string(point.weightDecay) +
                                           "); lower the learning rate or enable standardisation");
  }
}

}  // namespace

at::Tensor lossTargets(const at::Tensor& labels, Task task, const c10::Device& device) {
  return task == Task::kMultilabel ? labels.to(device, at::kFloat) : labels.to(device, at::kLong);
}

at::Tensor headProbabilities(const LinearHead& head, const at::Tensor& features, Task task) {
  at::NoGradGuard noGrad;
  const at::Tensor x = (features.to(head.weight.device(), at::kFloat) - head.mean) / head.scale;
  const at::Tensor logits = at::addmm(head.bias, x, head.weight.t());
  return (task == Task::kMultilabel ? logits.sigmoid() : logits.softmax(1)).to(at::kCPU);
}

HeadFit trainHead(const FeatureRows& rows, int64_t rowCount, int64_t featureDim, const at::Tensor& targets,
                  const SweepPoint& point, const LinearProbeOptions& options, const c10::Device& device,
                  const EvalProgressFn& progress, const std::atomic<bool>* cancel) {
  const auto f32 = at::TensorOptions().dtype(at::kFloat).device(device);
  at::Tensor weight = at::zeros({options.numClasses, featureDim}, f32).requires_grad_(true);
  at::Tensor bias = at::zeros({options.numClasses}, f32).requires_grad_(true);
  HeadFit fit;
  if (options.method == HeadMethod::kLbfgs) {
    const at::Tensor all = at::arange(rowCount, at::TensorOptions().dtype(at::kLong));
    const at::Tensor x = rows(all);
    torch::optim::LBFGS lbfgs({weight, bias}, torch::optim::LBFGSOptions(1.0)
                                                  .max_iter(options.maxIterations)
                                                  .history_size(20)
                                                  .line_search_fn(std::string("strong_wolfe")));
    int64_t evaluations = 0;
    lbfgs.step([&]() -> at::Tensor {
      throwIfCancelled(cancel);
      lbfgs.zero_grad();
      at::Tensor loss = objective(x, targets, weight, bias, point.weightDecay, options.task);
      loss.backward();
      ++evaluations;
      if (progress && evaluations % 10 == 0) progress({"fit", evaluations, options.maxIterations, loss.item<double>()});
      return loss;
    });
    at::NoGradGuard noGrad;
    const at::Tensor loss = objective(x, targets, weight, bias, point.weightDecay, options.task);
    checkFinite(loss, point);
    fit.objective = loss.item<double>();
  } else {
    optim::Adam adam({{"weight", weight}, {"bias", bias}}, optim::AdamOptions{});
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
    const int64_t batch = std::min(options.batchSize, rowCount);
    const int64_t perEpoch = (rowCount + batch - 1) / batch;
    double epochLoss = 0;
    for (int64_t epoch = 0; epoch < options.epochs; ++epoch) {
      const at::Tensor order = at::randperm(rowCount, generator, at::TensorOptions().dtype(at::kLong));
      epochLoss = 0;
      for (int64_t b = 0; b < perEpoch; ++b) {
        throwIfCancelled(cancel);
        const at::Tensor index = order.slice(0, b * batch, std::min(rowCount, (b + 1) * batch));
        const at::Tensor x = rows(index);
        at::Tensor loss = objective(x, targets.index_select(0, index.to(device)), weight, bias, point.weightDecay, options.task);
        adam.zeroGrad();
        loss.backward();
        adam.step(point.lr);
        epochLoss += loss.item<double>() * static_cast<double>(index.size(0));
      }
      epochLoss /= static_cast<double>(rowCount);
      if (!std::isfinite(epochLoss)) checkFinite(at::scalar_tensor(epochLoss), point);
      if (progress) progress({"fit", epoch + 1, options.epochs, epochLoss});
    }
    fit.objective = epochLoss;
  }
  fit.weight = weight.detach();
  fit.bias = bias.detach();
  return fit;
}

LinearProbeResult fitLinearProbe(const at::Tensor& trainX, const at::Tensor& trainY, const at::Tensor& valX,
                                 const at::Tensor& valY, const at::Tensor& testX, const LinearProbeOptions& options,
                                 const c10::Device& device, const EvalProgressFn& progress, const std::atomic<bool>* cancel) {
  if (trainX.dim() != 2 || valX.dim() != 2 || valX.size(1) != trainX.size(1) ||
      (testX.defined() && (testX.dim() != 2 || testX.size(1) != trainX.size(1)))) {
    throw Error(ErrorCode::kInvalidArgument, "expected train, val (and test) features [N, F] with the same F but received " +
                                                 shapeString(trainX.sizes()) + " and " + shapeString(valX.sizes()));
  }
  if (trainY.size(0) != trainX.size(0) || valY.size(0) != valX.size(0)) {
    throw Error(ErrorCode::kInvalidArgument, "features and labels disagree on the number of rows");
  }
  if (trainX.size(0) < 1 || valX.size(0) < 1) throw Error(ErrorCode::kInvalidArgument, "the probe needs at least one training and one validation row");
  if (options.sweep.empty()) throw Error(ErrorCode::kInvalidArgument, "expected at least one sweep point");
  if (options.numClasses < 1 || (options.task != Task::kMultilabel && trainY.dim() != 1) ||
      (options.task == Task::kMultilabel && (trainY.dim() != 2 || trainY.size(1) != options.numClasses))) {
    throw Error(ErrorCode::kInvalidArgument, "labels " + shapeString(trainY.sizes()) + " do not fit a " + taskName(options.task) +
                                                 " task with " + std::to_string(options.numClasses) + " classes");
  }
  const auto f32 = at::TensorOptions().dtype(at::kFloat).device(device);
  const at::Tensor x = trainX.to(device, at::kFloat);
  const int64_t featureDim = x.size(1);
  LinearHead head;
  if (options.standardize) {
    head.mean = x.mean(0);
    // Constant features (dead channels) keep scale 1 instead of dividing by 0.
    // Population std written out: Tensor::std's overloads differ between LibTorch 1.13 and 2.x.
    head.scale = (x - head.mean).pow(2).mean(0).sqrt();
    head.scale = at::where(head.scale > 1e-8, head.scale, at::ones_like(head.scale));
  } else {
    head.mean = at::zeros({featureDim}, f32);
    head.scale = at::ones({featureDim}, f32);
  }
  const at::Tensor z = (x - head.mean) / head.scale;
  const at::Tensor targets = lossTargets(trainY, options.task, device);
  const FeatureRows rows = [&](const at::Tensor& index) { return z.index_select(0, index.to(device)); };

  LinearProbeResult result;
  double best = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < options.sweep.size(); ++i) {
    const auto start = std::chrono::steady_clock::now();
    HeadFit fit = trainHead(rows, x.size(0), featureDim, targets, options.sweep[i], options, device, progress, cancel);
    LinearHead candidate{fit.weight, fit.bias, head.mean, head.scale};
    at::Tensor valProbabilities = headProbabilities(candidate, valX, options.task);
    PointResult point;
    point.point = options.sweep[i];
    point.valMetric = selectionMetric(valProbabilities, valY, options.task, options.metric);
    point.trainLoss = fit.objective;
    point.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.points.push_back(point);
    if (progress) progress({"sweep", static_cast<int64_t>(i + 1), static_cast<int64_t>(options.sweep.size()), point.valMetric});
    // NaN (an undefined AUC) never wins; ties keep the earlier point.
    if (point.valMetric > best || (i == 0 && std::isnan(point.valMetric))) {
      if (!std::isnan(point.valMetric)) best = point.valMetric;
      result.chosen = static_cast<int64_t>(i);
      result.head = candidate;
      result.valProbabilities = valProbabilities;
    }
  }
  if (testX.defined()) result.testProbabilities = headProbabilities(result.head, testX, options.task);
  return result;
}

}  // namespace imlm::eval

#include "core/eval/finetuner.h"

#include <chrono>
#include <cmath>

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>

#include "core/errors.h"
#include "core/eval/backbone_file.h"
#include "core/eval/features.h"
#include "core/step_generator.h"
#include "core/tensor_io.h"

namespace imlm::eval {
namespace {

constexpr uint64_t kEpochStream = 1;    // permutation of epoch e
constexpr uint64_t kAugmentStream = 2;  // augmentation of step t
constexpr uint64_t kInitStream = 3;     // initialisation of the network
constexpr const char* kOptimizerPrefix = "optimizer.";

}  // namespace

Finetuner::Finetuner(FinetuneConfig config, at::Tensor trainImages, at::Tensor trainLabels)
    : config_(std::move(config)), device_(resolveDevice(config_.device)), images_(std::move(trainImages)),
      labels_(std::move(trainLabels)) {
  makeCurrentDevice(device_);  // cuda:N, not GPU 0, for this thread and the one that trains
  thread_.call([this] { makeCurrentDevice(device_); });
  if (images_.dim() != 4 || (images_.scalar_type() != at::kByte && images_.scalar_type() != at::kFloat)) {
    throw Error(ErrorCode::kInvalidArgument, "expected training images U8 or F32 [n, C, H, W] but received " + shapeString(images_.sizes()));
  }
  const int64_t n = images_.size(0);
  if (n < 2) throw Error(ErrorCode::kInvalidArgument, "fine-tuning needs at least 2 labelled images (BatchNorm needs a batch); received " + std::to_string(n));
  if (labels_.size(0) != n) throw Error(ErrorCode::kInvalidArgument, "training images and labels disagree on the number of rows");
  if (config_.batchSize < 2) throw Error(ErrorCode::kInvalidArgument, "expected a batch size >= 2");
  // drop_last as the reference; a subset smaller than one batch is one batch.
  batch_ = std::min(config_.batchSize, n);
  stepsPerEpoch_ = n / batch_;

  models::ResNetOptions options = config_.backbone;
  BackboneWeights file;
  if (!config_.checkpoint.empty()) {
    file = readBackboneWeights(config_.checkpoint);
    options = file.options;
    options.zeroInitResidual = false;
  }
  options.head = models::Head::kFc;  // fc = Identity + final_fc in the reference; here fc is the classifier
  options.embeddingDim = config_.numClasses;
  if (options.inChannels != images_.size(1)) {
    throw Error(ErrorCode::kInvalidArgument, "the network takes " + std::to_string(options.inChannels) + " channel(s) but the images have " +
                                                 std::to_string(images_.size(1)));
  }
  model_ = models::ResNet(options);
  at::Generator init = generatorFor(config_.seed, kInitStream, 0);
  model_->initialize(init);
  if (!config_.checkpoint.empty()) {
    copyWeights(*model_, file.weights, /*withHead=*/false, config_.checkpoint);
    initialisation_ = config_.checkpoint + " (" + file.kind + ", " + options.arch + ")";
  } else {
    initialisation_ = "random (from scratch, seed " + std::to_string(config_.seed) + ", " + options.arch + ")";
  }
  model_->to(device_);
  config_.policy.outputSize = config_.imageSize > 0 ? config_.imageSize : images_.size(2);
  std::vector<std::pair<std::string, at::Tensor>> params;
  for (const auto& item : model_->named_parameters()) params.emplace_back(item.key(), item.value());
  optim::AdamOptions adam;
  adam.weightDecay = config_.weightDecay;
  optimizer_ = std::make_unique<optim::Adam>(std::move(params), adam);
}

double Finetuner::step(int64_t t) {
  const int64_t epoch = t / stepsPerEpoch_;
  if (epoch != orderEpoch_) {  // drawn once per epoch, from (seed, epoch) alone
    at::Generator order = generatorFor(config_.seed, kEpochStream, epoch);
    order_ = at::randperm(images_.size(0), order, at::TensorOptions().dtype(at::kLong));
    orderEpoch_ = epoch;
  }
  const int64_t first = (t % stepsPerEpoch_) * batch_;
  const at::Tensor index = order_.slice(0, first, first + batch_);
  at::Tensor x = prepareImages(images_.index_select(0, index), 0, device_);
  at::Generator augmentation = generatorFor(config_.seed, kAugmentStream, t);
  x = augment::augmentBatch(x, config_.policy, augmentation).images;
  const at::Tensor y = labels_.index_select(0, index).to(device_);

  model_->train();
  const at::Tensor logits = model_->forward(x).embedding;
  const at::Tensor loss = config_.task == Task::kMultilabel ? at::binary_cross_entropy_with_logits(logits, y.to(at::kFloat))
                                                            : at::cross_entropy_loss(logits, y.to(at::kLong));
  const double value = loss.item<double>();
  if (!std::isfinite(value)) {
    throw Error(ErrorCode::kNonFinite, "the fine-tuning loss became " + std::string(std::isnan(value) ? "NaN" : "infinite") +
                                           " at step " + std::to_string(t + 1) + "; lower the learning rate");
  }
  optimizer_->zeroGrad();
  loss.backward();
  optimizer_->step(config_.lr);
  return value;
}

FinetuneSummary Finetuner::run(int64_t steps, int64_t reportEvery, const EvalProgressFn& progress, const std::atomic<bool>& cancel) {
  FinetuneSummary summary;
  thread_.call([&] { summary = runHere(steps, reportEvery, progress, cancel); });
  return summary;
}

at::Tensor Finetuner::predict(const at::Tensor& images, int64_t batchSize, const EvalProgressFn& progress,
                              const std::atomic<bool>* cancel) {
  at::Tensor out;
  thread_.call([&] { out = predictHere(images, batchSize, progress, cancel); });
  return out;
}

FinetuneSummary Finetuner::runHere(int64_t steps, int64_t reportEvery, const EvalProgressFn& progress, const std::atomic<bool>& cancel) {
  using Clock = std::chrono::steady_clock;
  if (device_.is_cpu()) useIntraOpThreads(config_.threads);
  const auto start = Clock::now();
  FinetuneSummary summary;
  double lossSum = 0;
  for (int64_t i = 0; i < steps; ++i) {
    if (cancel.load()) {
      summary.cancelled = true;
      break;
    }
    summary.lastLoss = step(stepsCompleted_);
    lossSum += summary.lastLoss;
    ++stepsCompleted_;
    ++summary.stepsRun;
    if (progress && reportEvery > 0 && ((i + 1) % reportEvery == 0 || i + 1 == steps)) {
      progress({"train", stepsCompleted_.load(), 0, summary.lastLoss});
    }
  }
  summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  summary.meanLoss = summary.stepsRun > 0 ? lossSum / static_cast<double>(summary.stepsRun) : 0.0;
  summary.imagesPerSecond = summary.seconds > 0 ? static_cast<double>(summary.stepsRun * batch_) / summary.seconds : 0.0;
  return summary;
}

at::Tensor Finetuner::predictHere(const at::Tensor& images, int64_t batchSize, const EvalProgressFn& progress,
                                  const std::atomic<bool>* cancel) {
  if (device_.is_cpu()) useIntraOpThreads(config_.threads);
  if (images.dim() != 4 || images.size(1) != model_->options().inChannels) {
    throw Error(ErrorCode::kInvalidArgument, "expected images [N, " + std::to_string(model_->options().inChannels) +
                                                 ", H, W] but received " + shapeString(images.sizes()));
  }
  at::NoGradGuard noGrad;
  model_->eval();
  std::vector<at::Tensor> out;
  const int64_t n = images.size(0);
  const int64_t size = config_.policy.outputSize;
  for (int64_t first = 0; first < n; first += batchSize) {
    throwIfCancelled(cancel);
    const int64_t last = std::min(n, first + batchSize);
    const at::Tensor logits = model_->forward(prepareImages(images.slice(0, first, last), size, device_)).embedding;
    out.push_back((config_.task == Task::kMultilabel ? logits.sigmoid() : logits.softmax(1)).to(at::kCPU));
    if (progress) progress({"predict", last, n, 0.0});
  }
  return n > 0 ? at::cat(out) : at::empty({0, config_.numClasses});
}

io::TensorMap Finetuner::state() const {
  io::TensorMap out;
  for (const auto& item : model_->named_parameters()) out[item.key()] = item.value().detach();
  for (const auto& item : model_->named_buffers()) out[item.key()] = item.value().detach();
  for (const auto& [name, tensor] : optimizer_->state()) out[kOptimizerPrefix + name] = tensor;
  out["step"] = at::scalar_tensor(stepsCompleted_.load(), at::TensorOptions().dtype(at::kLong));
  return out;
}

void Finetuner::loadState(const io::TensorMap& state, const std::string& origin) {
  std::map<std::string, at::Tensor> optimizer;
  const std::string prefix = kOptimizerPrefix;
  for (const auto& [name, tensor] : state) {
    if (name.rfind(prefix, 0) == 0) optimizer[name.substr(prefix.size())] = tensor;
  }
  auto step = state.find("step");
  if (step == state.end() || step->second.numel() != 1 || step->second.scalar_type() != at::kLong) {
    throw Error(ErrorCode::kFormat, origin + ": not a fine-tuning state (tensor 'step', one int64, is missing)");
  }
  copyWeights(*model_, state, /*withHead=*/true, origin);
  optimizer_->loadState(optimizer, origin);
  stepsCompleted_ = step->second.item<int64_t>();
}

}  // namespace imlm::eval

#include "core/train/trainer.h"

#include <chrono>
#include <cmath>
#include <sstream>

#include <ATen/core/grad_mode.h>  // at::NoGradGuard (not pulled in by ATen/Functions.h on 2.x)
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>

#include "core/errors.h"
#include "core/losses/info_nce.h"
#include "core/optim/schedules.h"
#include "core/tensor_io.h"
#include "core/threads.h"
#include "core/train/device_staging.h"
#include "core/train/op_counter.h"
#include "core/train/profile_trace.h"

namespace imlm::train {
namespace {

constexpr const char* kMomentumPrefix = "optimizer.momentum_buffer.";

std::string describeTensor(const at::Tensor& t) {
  return shapeString(t.sizes()) + " " + c10::toString(t.scalar_type());
}

/** Puts every 4-d parameter (conv weights) in channels-last layout; gradients follow. */
void toChannelsLast(torch::nn::Module& module) {
  at::NoGradGuard noGrad;
  for (auto& p : module.parameters()) {
    if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
  }
}

[[noreturn]] void badState(const std::string& origin, const std::string& what) {
  throw Error(ErrorCode::kFormat, origin + ": " + what);
}

/** Checks a stored tensor against the one it will replace; NaN/Inf in weights is refused. */
void checkCompatible(const std::string& origin, const std::string& name, const at::Tensor& expected,
                     const at::Tensor& found) {
  if (!found.sizes().equals(expected.sizes()) || found.scalar_type() != expected.scalar_type()) {
    badState(origin, "tensor '" + name + "' should be " + describeTensor(expected) + " for this configuration but is " +
                         describeTensor(found) + " (a checkpoint of another architecture or configuration?)");
  }
  if (at::isFloatingType(found.scalar_type()) && !at::isfinite(found).all().item<bool>()) {
    badState(origin, "tensor '" + name + "' holds NaN or infinite values");
  }
}

/**
 * Checks every tensor of `own` against its namesake in `given` (shape, dtype, finite values) and
 * returns the names `given` lacks. Nothing is changed: callers validate everything first.
 */
std::vector<std::string> checkAgainst(const io::TensorMap& own, const io::TensorMap& given, const std::string& origin) {
  std::vector<std::string> missing;
  for (const auto& [name, tensor] : own) {
    auto it = given.find(name);
    if (it == given.end()) {
      missing.push_back(name);
    } else {
      checkCompatible(origin, name, tensor, it->second);
    }
  }
  return missing;
}

/** 'auto' and 'cuda' mean this rank's GPU (LOCAL_RANK) in a data-parallel run. */
c10::Device deviceFor(const std::string& spec, const dist::DistOptions& dist) {
  c10::Device device = resolveDevice(spec);
  if (dist.distributed() && device.is_cuda() && spec.find(':') == std::string::npos) {
    return resolveDevice("cuda:" + std::to_string(dist.localRank));
  }
  return device;
}

}  // namespace

Trainer::Trainer(TrainConfig config, dist::DistOptions dist)
    : config_(std::move(config)),
      device_(deviceFor(config_.device, dist)),
      generator_(at::make_generator<at::CPUGeneratorImpl>(config_.seed)) {
  // This rank's GPU, for the thread that builds the trainer and the one that trains with it.
  makeCurrentDevice(device_);
  thread_.call([this] { makeCurrentDevice(device_); });
  models::checkArch(config_.backbone.arch);
  model_ = ssl::Moco(config_.backbone, config_.moco);
  model_->initialize(generator_);
  model_->to(device_);
  model_->keepQueuePointerOnHost();
  if (config_.channelsLast) toChannelsLast(*model_);
  lossSums_ = at::zeros({6}, at::TensorOptions().dtype(at::kDouble).device(device_));
  firstBadStep_ = at::zeros({}, at::TensorOptions().dtype(at::kLong).device(device_));
  if (config_.precision != Precision::kFp32) {
    if (!device_.is_cuda()) {
      throw Error(ErrorCode::kInvalidArgument,
                  "precision bf16/fp16 (autocast) needs a CUDA device; on the CPU use precision fp32");
    }
    model_->setAutocast(config_.precision == Precision::kBf16 ? at::kBFloat16 : at::kHalf);
  }
  if (config_.precision == Precision::kFp16) {
    lossScale_ = at::full({1}, 65536.0, at::TensorOptions().dtype(at::kFloat).device(device_));
    growthTracker_ = at::zeros({1}, at::TensorOptions().dtype(at::kInt).device(device_));
  }
  if (device_.is_cuda()) at::globalContext().setBenchmarkCuDNN(config_.cudnnBenchmark);
  std::vector<std::pair<std::string, at::Tensor>> trainable;
  for (const auto& item : model_->named_parameters()) {
    if (item.value().requires_grad()) trainable.emplace_back(item.key(), item.value());
  }
  std::vector<at::Tensor> trainableTensors;
  for (const auto& [name, p] : trainable) trainableTensors.push_back(p);
  optimizer_ = std::make_unique<optim::Sgd>(std::move(trainable), config_.optimizer.sgd);
  if (dist.distributed()) {
    if (config_.moco.shuffleGroups != 1) {
      throw Error(ErrorCode::kInvalidArgument,
                  "shuffleGroups emulates shuffle-BN in one process; across ranks use the real one (the default) "
                  "and leave shuffleGroups at 1");
    }
    if (config_.batchSize % dist.worldSize != 0) {
      throw Error(ErrorCode::kInvalidArgument, "the batch size " + std::to_string(config_.batchSize) +
                                                   " (global) must be divisible by the number of ranks, " +
                                                   std::to_string(dist.worldSize));
    }
    group_ = dist::ProcessGroup::connect(dist, device_);
    model_->setProcessGroup(group_, dist.shuffleBn, dist.syncBn);
    broadcastState();
    reducer_ = std::make_unique<dist::GradReducer>(group_, std::move(trainableTensors), dist.bucketMb);
  }
}

void Trainer::broadcastState() {
  std::vector<at::Tensor> tensors;
  for (const auto& item : model_->named_parameters()) tensors.push_back(item.value());
  for (const auto& item : model_->named_buffers()) {
    if (item.value().device() == device_) tensors.push_back(item.value());  // queue_ptr (host) below
  }
  for (const auto& [name, buffer] : optimizer_->momentumBuffers()) tensors.push_back(buffer);
  const std::vector<int64_t> hostState{stepsCompleted_.load(), model_->queuePosition()};
  at::Tensor scalars = at::tensor(hostState, at::TensorOptions().dtype(at::kLong)).to(device_);
  tensors.push_back(scalars);
  dist::broadcastCoalesced(*group_, tensors);
  const at::Tensor host = readToHost(scalars);
  stepsCompleted_ = host.data_ptr<int64_t>()[0];
  model_->queuePtr.fill_(host.data_ptr<int64_t>()[1]);
}

StepMetrics Trainer::step(const at::Tensor& queryImages, const at::Tensor& keyImages) {
  StepMetrics metrics;
  thread_.call([&] { metrics = stepHere(queryImages, keyImages, /*report=*/true); });
  return metrics;
}

RunSummary Trainer::run(BatchSource& source, const RunOptions& options, const ProgressFn& progress,
                        const std::atomic<bool>& cancel) {
  RunSummary summary;
  thread_.call([&] { summary = runHere(source, options, progress, cancel); });
  return summary;
}

void Trainer::requireRankShare(const at::Tensor& queryImages) const {
  if (group_ && queryImages.size(0) * group_->size() != config_.batchSize) {
    // A source without a shard would hand every rank the whole global batch, silently
    // multiplying the batch by the number of ranks.
    throw Error(ErrorCode::kInvalidArgument,
                "rank " + std::to_string(group_->rank()) + " received a batch of " + std::to_string(queryImages.size(0)) +
                    " but its share of the global batch " + std::to_string(config_.batchSize) + " is " +
                    std::to_string(config_.batchSize / group_->size()) +
                    ": create the source with shard {rank, worldSize}");
  }
}

at::Tensor Trainer::toModelInput(const at::Tensor& images) const {
  const auto layout = config_.channelsLast ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
  return images.to(device_, at::kFloat, /*non_blocking=*/true).contiguous(layout);
}

void Trainer::backward(const at::Tensor& total) {
  optimizer_->zeroGrad();
  if (reducer_) reducer_->begin();
  if (lossScale_.defined()) {
    (total * lossScale_).sum().backward();
  } else {
    total.backward();
  }
  if (reducer_) reducer_->finish();
}

at::Tensor Trainer::updateIfFinite(const at::Tensor& total, double lr) {
  // Whether to apply the update, decided on the device (no host read): AMP's found_inf, for
  // every precision. Across ranks the gradients are already all-reduced, so a NaN on one rank
  // reaches every rank's check and all of them skip the same step.
  const at::Tensor lossFinite = at::isfinite(total.detach());
  const double clip = config_.optimizer.gradClip;
  at::Tensor apply;
  at::Tensor failed;
  if (lossScale_.defined()) {
    // fp16: unscale in place; an overflow skips the step and halves the scale (routine, not a
    // failure); a non-finite loss is one.
    std::vector<at::Tensor> grads = optimizer_->grads();
    at::Tensor foundInf = at::zeros({1}, lossScale_.options());
    at::_amp_foreach_non_finite_check_and_unscale_(grads, foundInf, lossScale_.reciprocal());
    if (clip > 0) optimizer_->clipGradNorm(clip);
    apply = lossFinite.logical_and(foundInf.squeeze(0).eq(0));
    failed = lossFinite.logical_not();
    at::_amp_update_scale_(lossScale_, growthTracker_, foundInf, /*scale_growth_factor=*/2.0,
                           /*scale_backoff_factor=*/0.5, /*growth_interval=*/2000);
  } else {
    const at::Tensor norm = clip > 0 ? optimizer_->clipGradNorm(clip) : optimizer_->gradNorm();
    apply = lossFinite.logical_and(at::isfinite(norm));
    failed = apply.logical_not();
  }
  optimizer_->step(lr, apply);
  return failed;
}

void Trainer::accumulateInterval(const ssl::StepLosses& losses, const at::Tensor& failed) {
  at::NoGradGuard noGrad;
  // The first failed step since the last report (0: none), kept on the device.
  const int64_t stepNumber = stepsCompleted_ + 1;
  firstBadStep_.masked_fill_(failed.logical_and(firstBadStep_.eq(0)), stepNumber);
  std::vector<at::Tensor> terms{losses.total.detach(), losses.infoNce.detach()};
  for (const at::Tensor& block : losses.blocks) terms.push_back(block.detach());
  lossSums_.add_(at::stack(terms));
  ++stepsSinceReport_;
}

StepMetrics Trainer::stepHere(const at::Tensor& queryImages, const at::Tensor& keyImages, bool report) {
  requireRankShare(queryImages);
  const double m = optim::keyMomentumAt(config_.keyMomentum, config_.totalSteps, stepsCompleted_);
  const double lr = optim::learningRateAt(config_.optimizer.lrSchedule, config_.totalSteps, stepsCompleted_);
  model_->train();
  const at::Tensor q = toModelInput(queryImages);
  const at::Tensor k = toModelInput(keyImages);
  const ssl::StepLosses losses = model_->forwardStep(q, k, m, generator_);
  backward(losses.total);
  const at::Tensor failed = updateIfFinite(losses.total, lr);
  accumulateInterval(losses, failed);
  ++stepsCompleted_;

  StepMetrics metrics;
  metrics.step = stepsCompleted_;
  metrics.lr = lr;
  metrics.keyMomentum = m;
  if (report) readReport(&losses, metrics);
  return metrics;
}

void Trainer::readReport(const ssl::StepLosses* losses, StepMetrics& metrics) {
  at::NoGradGuard noGrad;
  // This step's values, the interval's sums and the first failed step: one device→host copy.
  at::Tensor current;
  if (losses) {
    std::vector<at::Tensor> values{losses->total.detach(), losses->infoNce.detach()};
    for (const at::Tensor& block : losses->blocks) values.push_back(block.detach());
    values.push_back(losses::topKAccuracy(losses->logits, 1));
    values.push_back(losses::topKAccuracy(losses->logits, 5));
    current = at::stack(values).to(at::kDouble);
  } else {
    current = at::zeros({8}, lossSums_.options());
  }
  std::vector<at::Tensor> parts{current, lossSums_, firstBadStep_.to(at::kDouble).reshape({1})};
  constexpr int64_t kCurrent = 0, kSums = 8, kFirstBad = 14, kFailedRanks = 15, kStop = 16;
  if (group_) {
    // Global sums over the ranks, how many ranks failed a step, and whether any rank was asked
    // to stop: every rank takes the same decisions (a NaN stops all of them; a Ctrl-C on one
    // stops all at this report).
    const bool stop = cancelFlag_ && cancelFlag_->load();
    parts.push_back(firstBadStep_.gt(0).to(at::kDouble).reshape({1}));
    parts.push_back(at::full({1}, stop ? 1.0 : 0.0, lossSums_.options()));
  }
  at::Tensor reported = at::cat(parts);
  if (group_) group_->allReduceSum(reported);
  const at::Tensor host = readToHost(reported);
  const double* value = host.data_ptr<double>();
  const double ranks = group_ ? static_cast<double>(group_->size()) : 1.0;

  // The interval starts again whatever happens next.
  const int64_t steps = stepsSinceReport_;
  lossSums_.zero_();
  firstBadStep_.zero_();
  stepsSinceReport_ = 0;

  const double failedRanks = group_ ? value[kFailedRanks] : (value[kFirstBad] > 0 ? 1.0 : 0.0);
  if (failedRanks > 0) {
    // The ranks' gradients are all-reduced before the check, so the ranks that failed failed
    // at the same step: the sum over them divided by their number is that step.
    const auto firstBad = static_cast<int64_t>(std::llround(value[kFirstBad] / failedRanks));
    throw Error(ErrorCode::kNonFinite,
                "the loss or a gradient became NaN or infinite at step " + std::to_string(firstBad) +
                    "; that step's update was not applied and training stopped after step " +
                    std::to_string(stepsCompleted_.load()) +
                    " (the last saved checkpoint is intact). Lower the learning rate or enable gradient clipping.");
  }
  if (group_) peersStop_ = value[kStop] > 0;

  lastMeans_.steps = steps;
  const double denominator = ranks * static_cast<double>(std::max<int64_t>(steps, 1));
  lastMeans_.loss = value[kSums] / denominator;
  lastMeans_.infoNce = value[kSums + 1] / denominator;
  for (size_t i = 0; i < 4; ++i) lastMeans_.blocks[i] = value[kSums + 2 + i] / denominator;
  if (losses) {
    metrics.loss = value[kCurrent] / ranks;
    metrics.infoNce = value[kCurrent + 1] / ranks;
    for (size_t i = 0; i < 4; ++i) metrics.blocks[i] = value[kCurrent + 2 + i] / ranks;
    metrics.top1 = value[kCurrent + 6] / ranks;
    metrics.top5 = value[kCurrent + 7] / ranks;
  } else {
    // No step of its own to read (a run stopped between reports): the interval's means.
    metrics.loss = lastMeans_.loss;
    metrics.infoNce = lastMeans_.infoNce;
    metrics.blocks = lastMeans_.blocks;
  }
}

RunSummary Trainer::runHere(BatchSource& source, const RunOptions& options, const ProgressFn& progress,
                            const std::atomic<bool>& cancel) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto intervalStart = start;
  int64_t intervalImages = 0;
  int64_t totalImages = 0;
  RunSummary summary;
  if (device_.is_cpu()) useIntraOpThreads(config_.threads);
  const ProfileTrace trace;  // IMLM_PROFILE_TRACE only
  std::unique_ptr<OpCounter> counter = options.countOps ? std::make_unique<OpCounter>() : nullptr;
  cancelFlag_ = &cancel;
  // The flag belongs to this run only, also when a step throws.
  struct ForgetCancelFlag {
    const std::atomic<bool>*& flag;
    ~ForgetCancelFlag() { flag = nullptr; }
  } forget{cancelFlag_};
  const int64_t world = worldSize();
  const int64_t steps = options.steps;
  const int64_t reportEvery = std::max<int64_t>(options.reportEvery, 1);
  for (int64_t i = 0; i < steps; ++i) {
    // Across ranks a stop is agreed on at report steps (readReport), so all ranks stop
    // together; one agreed at the last report of the previous run stops this one before its
    // first step.
    if (group_ ? peersStop_ : cancel.load()) {
      peersStop_ = false;
      summary.cancelled = true;
      break;
    }
    if (source.endStep() >= 0 && stepsCompleted_ >= source.endStep()) break;
    const bool lastStep = i + 1 == steps || (source.endStep() >= 0 && stepsCompleted_ + 1 >= source.endStep());
    // Multiples of reportEvery of the global step, not of this run's: chunked and resumed runs report where one run would.
    const bool report = (stepsCompleted_ + 1) % reportEvery == 0 || lastStep;
    ViewBatch batch = source.batch(stepsCompleted_);
    adoptOnCurrentStream(batch);  // a batch staged on a side stream (no-op on the CPU)
    summary.last = stepHere(batch.query, batch.key, report);
    ++summary.stepsRun;
    if (counter) summary.opCounts.push_back({stepsCompleted_.load(), report, counter->take()});
    intervalImages += batch.query.size(0) * world;  // the global batch: ranks step together
    totalImages += batch.query.size(0) * world;
    if (report && progress) {
      const auto now = Clock::now();
      const double seconds = std::chrono::duration<double>(now - intervalStart).count();
      progress({summary.last, lastMeans_, seconds > 0 ? static_cast<double>(intervalImages) / seconds : 0.0,
                summary.stepsRun});
      intervalStart = now;
      intervalImages = 0;
    }
  }
  // A run stopped between reports (Ctrl-C) still checks the steps it ran before it returns:
  // a failed step must not pass unnoticed into a save.
  if (stepsSinceReport_ > 0) readReport(nullptr, summary.last);
  summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  summary.imagesPerSecond = summary.seconds > 0 ? static_cast<double>(totalImages) / summary.seconds : 0.0;
  return summary;
}

io::TensorMap Trainer::state() const {
  io::TensorMap out;
  for (const auto& item : model_->named_parameters()) out[item.key()] = item.value().detach();
  for (const auto& item : model_->named_buffers()) out[item.key()] = item.value().detach();
  for (const auto& [name, buffer] : optimizer_->momentumBuffers()) out[kMomentumPrefix + name] = buffer;
  out["step"] = at::scalar_tensor(stepsCompleted_.load(), at::TensorOptions().dtype(at::kLong));
  out["rng.cpu"] = generator_.get_state();
  if (lossScale_.defined()) {
    out["amp.scale"] = lossScale_.detach();
    out["amp.growth_tracker"] = growthTracker_.detach();
  }
  return out;
}

void Trainer::loadState(const io::TensorMap& state, const std::string& origin) {
  at::NoGradGuard noGrad;
  io::TensorMap own;
  for (const auto& item : model_->named_parameters()) own[item.key()] = item.value();
  for (const auto& item : model_->named_buffers()) own[item.key()] = item.value();
  // Validate everything before changing anything: a bad file leaves the trainer as it was.
  const std::vector<std::string> missing = checkAgainst(own, state, origin);
  if (!missing.empty()) {
    std::string list;
    for (size_t i = 0; i < missing.size() && i < 5; ++i) list += (i ? ", " : "") + missing[i];
    badState(origin, std::to_string(missing.size()) + " tensor(s) this configuration needs are missing: " + list +
                         (missing.size() > 5 ? ", ..." : "") + " (a checkpoint of another architecture or loss?)");
  }
  std::map<std::string, at::Tensor> trainable;
  for (const auto& [name, p] : optimizer_->params()) trainable[name] = p;
  for (const auto& [name, tensor] : state) {
    if (own.count(name) || name == "step" || name == "rng.cpu") continue;
    if (name == "amp.scale" || name == "amp.growth_tracker") {  // fp16 only; optional
      if (lossScale_.defined()) checkCompatible(origin, name, name == "amp.scale" ? lossScale_ : growthTracker_, tensor);
      continue;
    }
    if (name.rfind(kMomentumPrefix, 0) == 0) {
      const std::string param = name.substr(std::string(kMomentumPrefix).size());
      auto it = trainable.find(param);
      if (it == trainable.end()) badState(origin, "tensor '" + name + "' belongs to no trainable parameter");
      checkCompatible(origin, name, it->second, tensor);
      continue;
    }
    badState(origin, "unexpected tensor '" + name + "' (saved with another configuration?)");
  }
  auto step = state.find("step");
  if (step != state.end() && (step->second.numel() != 1 || step->second.scalar_type() != at::kLong)) {
    badState(origin, "tensor 'step' should be one int64 but is " + describeTensor(step->second));
  }
  if (step != state.end() && step->second.item<int64_t>() < 0) {
    badState(origin, "tensor 'step' should be >= 0 but is " + std::to_string(step->second.item<int64_t>()));
  }
  auto pointer = state.find("queue_ptr");
  if (pointer != state.end()) {
    const int64_t at = pointer->second.item<int64_t>();
    if (at < 0 || at >= config_.moco.queueSize) {
      badState(origin, "tensor 'queue_ptr' should be in [0, " + std::to_string(config_.moco.queueSize) + ") but is " +
                           std::to_string(at));
    }
  }
  auto rng = state.find("rng.cpu");
  if (rng != state.end()) {
    if (rng->second.scalar_type() != at::kByte || rng->second.dim() != 1) {
      badState(origin, "tensor 'rng.cpu' should be a 1-d uint8 generator state but is " + describeTensor(rng->second));
    }
    // Tried on a copy first: a refused state must leave the trainer as it was.
    try {
      generator_.clone().set_state(rng->second);
    } catch (const c10::Error& e) {
      badState(origin, std::string("tensor 'rng.cpu' is not a valid generator state: ") + e.what_without_backtrace());
    }
  }

  for (auto& [name, tensor] : own) tensor.copy_(state.at(name));
  optimizer_->momentumBuffers().clear();
  for (const auto& [name, tensor] : state) {
    if (name.rfind(kMomentumPrefix, 0) != 0) continue;
    const std::string param = name.substr(std::string(kMomentumPrefix).size());
    // In the parameter's layout (channels_last convs): multi-tensor kernels need equal strides.
    optimizer_->momentumBuffers()[param] = at::empty_like(trainable[param]).copy_(tensor);
  }
  stepsCompleted_ = step != state.end() ? step->second.item<int64_t>() : 0;
  if (lossScale_.defined() && state.count("amp.scale") && state.count("amp.growth_tracker")) {
    lossScale_.copy_(state.at("amp.scale"));
    growthTracker_.copy_(state.at("amp.growth_tracker"));
  }
  if (rng != state.end()) generator_.set_state(rng->second);  // validated above
  if (group_) broadcastState();
}

io::TensorMap Trainer::backbone() const {
  io::TensorMap out;
  for (const auto& item : model_->encoderQ->named_parameters()) {
    if (item.key().rfind("fc.", 0) != 0) out[item.key()] = item.value().detach();
  }
  for (const auto& item : model_->encoderQ->named_buffers()) {
    if (item.key().rfind("fc.", 0) != 0) out[item.key()] = item.value().detach();
  }
  return out;
}

void Trainer::loadBackbone(io::TensorMap weights, const std::string& origin, models::InitChannels channels) {
  at::NoGradGuard noGrad;
  models::fitInputChannels(weights, config_.backbone.inChannels, channels, origin);
  io::TensorMap own = backbone();
  const std::vector<std::string> missing = checkAgainst(own, weights, origin);
  if (!missing.empty()) {
    badState(origin, std::to_string(missing.size()) + " backbone tensor(s) are missing, e.g. '" + missing.front() +
                         "' (expected torchvision names such as conv1.weight, layer1.0.bn1.running_mean)");
  }
  for (const auto& [name, tensor] : weights) {
    if (!own.count(name) && name.rfind("fc.", 0) != 0) {
      badState(origin, "unexpected tensor '" + name + "' (not part of a torchvision " + config_.backbone.arch + ")");
    }
  }
  // `own` holds views of encoder_q's tensors: copying into them writes the model.
  for (auto& [name, tensor] : own) tensor.copy_(weights.at(name));
  model_->syncKeyEncoder();
  if (group_) broadcastState();
}

}  // namespace imlm::train

// The training engine: a MoCo model, its optimiser and generator, stepping through batches.
// Steps run on the trainer's own thread (core/serial_thread.h: cuDNN's benchmark cache and the
// library handles are per thread); `run` and `step` block their caller, which the bridge puts
// on a libuv worker, forwarding the progress callback to JavaScript. No N-API here.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Generator.h>
#include <c10/core/Device.h>

#include "core/distributed/options.h"
#include "core/distributed/grad_reducer.h"
#include "core/distributed/process_group.h"
#include "core/io/safetensors.h"
#include "core/models/input_channels.h"
#include "core/optim/sgd.h"
#include "core/serial_thread.h"
#include "core/ssl/moco.h"
#include "core/train/batch_source.h"
#include "core/train/op_counter.h"
#include "core/train/train_config.h"

namespace imlm::train {

struct StepMetrics {
  int64_t step = 0;  // steps completed after this one
  double loss = 0;
  double infoNce = 0;
  std::array<double, 4> blocks{};
  double top1 = 0;
  double top5 = 0;
  double lr = 0;
  double keyMomentum = 0;
};

/** Mean losses over the steps since the previous report (accumulated on the device). */
struct IntervalMeans {
  int64_t steps = 0;
  double loss = 0;
  double infoNce = 0;
  std::array<double, 4> blocks{};
};

struct ProgressReport {
  StepMetrics last;             // the most recent step
  IntervalMeans mean;           // the steps since the previous report
  double imagesPerSecond = 0;   // since the previous report
  int64_t stepsThisRun = 0;
};

/** The ATen operators one step called (RunOptions::countOps). */
struct StepOps {
  int64_t step = 0;      // steps completed after it
  bool report = false;   // a report step (its metrics were read on the host)
  OpCounts ops;
};

struct RunOptions {
  int64_t steps = 0;
  /**
   * Metrics are read on the host at the steps whose number is a multiple of this (counted from
   * the start of training, so a run split into chunks or resumed reports at the same steps as
   * one uninterrupted run) and after the run's last step: the only device→host transfers of a
   * run (the steps between run without a synchronisation).
   * Callers always set it (TypeScript's default is 10); below 1 it reads as 1.
   */
  int64_t reportEvery = 0;
  bool countOps = false;  // fill RunSummary::opCounts (a diagnostic: slows every operator)
};

struct RunSummary {
  int64_t stepsRun = 0;
  bool cancelled = false;
  StepMetrics last;
  double imagesPerSecond = 0;  // over the whole run
  double seconds = 0;
  std::vector<StepOps> opCounts;  // RunOptions::countOps only
};

using ProgressFn = std::function<void(const ProgressReport&)>;

class Trainer {
 public:
  /**
   * Builds and initialises the model on the configured device from config.seed. With
   * dist.worldSize > 1 it joins the process group (blocking until every rank has arrived),
   * broadcasts rank 0's parameters and buffers, and from then on trains data-parallel:
   * config.batchSize is the global batch, each rank steps on its shard of it.
   */
  explicit Trainer(TrainConfig config, dist::DistOptions dist = {});

  /**
   * One step on a pair of views (moved to the trainer's device), read as a report step.
   * Throws kNonFinite if its loss or gradients were NaN/Inf (the update was not applied).
   * Across ranks the views are this rank's shard and the metrics are global means.
   */
  StepMetrics step(const at::Tensor& queryImages, const at::Tensor& keyImages);

  /**
   * Runs up to options.steps steps from `source` (fewer if it runs out), calling `progress`
   * at the steps that are multiples of options.reportEvery and after the last. A step whose loss or gradients are not
   * finite is not applied (masked on the device); the run stops with kNonFinite at the next
   * report, naming the first such step. `cancel` is checked between steps (across ranks: at
   * report steps, where the ranks agree on it).
   */
  RunSummary run(BatchSource& source, const RunOptions& options, const ProgressFn& progress,
                 const std::atomic<bool>& cancel);

  /** The whole training state with the names of docs/formats.md. */
  io::TensorMap state() const;
  /**
   * Replaces the state; `origin` (a file name) appears in errors. Optimiser buffers are optional.
   * Across ranks, every rank loads the file and rank 0's state is then broadcast.
   */
  void loadState(const io::TensorMap& state, const std::string& origin);

  /** encoder_q's backbone with torchvision names (no head), for export. */
  io::TensorMap backbone() const;
  /**
   * Loads torchvision-named weights into both encoders (the head is left as it is). A conv1 of
   * another channel count is fitted by `channels` first (core/models/input_channels.h).
   */
  void loadBackbone(io::TensorMap weights, const std::string& origin, models::InitChannels channels);

  /**
   * The query encoder's representation of `images` (U8 or F32 [N, C, H, W], resized to the
   * training image size): the pooled layer4 output, F32 [N, F] on the CPU. Eval mode (running
   * BatchNorm statistics) and no gradients; nothing else is touched — not the queue, the key
   * encoder, the optimiser or any generator — so a run that asks for it trains exactly as one
   * that does not (the kNN monitor, lib/train/knn-monitor.ts).
   */
  at::Tensor queryRepresentation(const at::Tensor& images, int64_t batchSize);

  int64_t stepsCompleted() const { return stepsCompleted_; }
  const TrainConfig& config() const { return config_; }
  const c10::Device& device() const { return device_; }
  int64_t rank() const { return group_ ? group_->rank() : 0; }
  int64_t worldSize() const { return group_ ? group_->size() : 1; }

 private:
  TrainConfig config_;
  c10::Device device_;
  at::Generator generator_;
  ssl::Moco model_{nullptr};
  std::unique_ptr<optim::Sgd> optimizer_;
  // fp16 only: dynamic loss scaling as torch.cuda.amp.GradScaler (init 2^16, ×2 every 2000
  // clean steps, ×0.5 on overflow, the step skipped).
  at::Tensor lossScale_;
  at::Tensor growthTracker_;
  // Data-parallel only (null with one process, where no collective ever runs).
  std::shared_ptr<dist::ProcessGroup> group_;
  std::unique_ptr<dist::GradReducer> reducer_;
  const std::atomic<bool>* cancelFlag_ = nullptr;  // the running run()'s, shared with peers at reports
  bool peersStop_ = false;                         // some rank asked to stop at the last report (kept until a run consumes it)

  // Between reports, on the device: Σ of the step losses (total, InfoNCE, 4 blocks; float64)
  // and the first step whose update was masked as non-finite (0: none), read at reports.
  at::Tensor lossSums_;
  at::Tensor firstBadStep_;
  int64_t stepsSinceReport_ = 0;
  IntervalMeans lastMeans_;

  /** Rank 0's parameters, buffers and optimiser state to every rank. */
  void broadcastState();
  /**
   * One step: forward, backward, the update unless non-finite, the interval's sums (the steps
   * below, in this order); `report`: read its metrics (and the interval's) on the host.
   */
  StepMetrics stepHere(const at::Tensor& queryImages, const at::Tensor& keyImages, bool report);
  /** Across ranks: throws unless the views are this rank's share of the global batch. */
  void requireRankShare(const at::Tensor& queryImages) const;
  /** Views as the model takes them: float32, on the trainer's device, in its memory layout. */
  at::Tensor toModelInput(const at::Tensor& images) const;
  /** Gradients of `total` (scaled for fp16), all-reduced across ranks. */
  void backward(const at::Tensor& total);
  /** The optimiser step, masked on the device unless finite; returns the 0-d bool "this step failed". */
  at::Tensor updateIfFinite(const at::Tensor& total, double lr);
  /** Adds the step's losses (and whether it failed) to the interval's sums, on the device. */
  void accumulateInterval(const ssl::StepLosses& losses, const at::Tensor& failed);
  /** The one device→host read of a report step (and, across ranks, the agreement on stopping). */
  /** `losses` null: a run stopped between reports; the metrics become the interval's means. */
  void readReport(const ssl::StepLosses* losses, StepMetrics& metrics);
  RunSummary runHere(BatchSource& source, const RunOptions& options, const ProgressFn& progress,
                     const std::atomic<bool>& cancel);
  std::atomic<int64_t> stepsCompleted_{0};  // read by the JS thread while a run goes on
  SerialThread thread_;  // last: joined before the members its jobs use are destroyed
};

}  // namespace imlm::train

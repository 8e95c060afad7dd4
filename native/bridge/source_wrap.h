// JS BatchSource objects: where a Trainer's view pairs come from (core/train/batch_source.h).
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>

#include "core/train/batch_source.h"

namespace imlm::bridge {

class SourceWrap : public Napi::ObjectWrap<SourceWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  /** The core source inside a JS BatchSource; throws ERR_INVALID_ARG otherwise. */
  static SourceWrap* unwrap(Napi::Env env, const Napi::Value& value);

  explicit SourceWrap(const Napi::CallbackInfo& args);

  std::shared_ptr<train::BatchSource> source() const { return source_; }
  std::shared_ptr<std::atomic<bool>> busy() const { return busy_; }

  /** syntheticSource({poolSize, channels, imageSize, batchSize, seed, policy}) */
  static Napi::Value synthetic(const Napi::CallbackInfo& args);
  /** tensorSource(images: Tensor, {batchSize, imageSize, seed, policy}) */
  static Napi::Value fromTensor(const Napi::CallbackInfo& args);
  /** fixedBatchesSource(q: Tensor, k: Tensor, firstStep) */
  static Napi::Value fixedBatches(const Napi::CallbackInfo& args);

 private:
  Napi::Value describe(const Napi::CallbackInfo& args);
  /** measure(batches, threads): produce that many batches on a worker thread → {imagesPerSecond, seconds}. */
  Napi::Value measure(const Napi::CallbackInfo& args);
  static Napi::Object wrap(Napi::Env env, std::shared_ptr<train::BatchSource> source);

  std::shared_ptr<train::BatchSource> source_;
  std::shared_ptr<std::atomic<bool>> busy_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace imlm::bridge

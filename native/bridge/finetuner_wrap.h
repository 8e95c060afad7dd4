// The JS Finetuner class over core/eval/finetuner.h. Every method that touches the network runs
// on a worker thread and returns a Promise; one operation at a time (ERR_BUSY otherwise); run()
// reports progress through a thread-safe queue and stops between steps on cancel().
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>

#include "core/eval/finetuner.h"

namespace imlm::bridge {

class FinetunerWrap : public Napi::ObjectWrap<FinetunerWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  /** createFinetuner(config, trainImages, trainLabels) → Promise<Finetuner>. */
  static Napi::Value create(const Napi::CallbackInfo& args);
  static Napi::Object wrap(Napi::Env env, std::shared_ptr<eval::Finetuner> finetuner);

  explicit FinetunerWrap(const Napi::CallbackInfo& args);

 private:
  Napi::Value run(const Napi::CallbackInfo& args);
  Napi::Value cancel(const Napi::CallbackInfo& args);
  Napi::Value predict(const Napi::CallbackInfo& args);
  Napi::Value save(const Napi::CallbackInfo& args);
  Napi::Value load(const Napi::CallbackInfo& args);
  Napi::Value stepsCompleted(const Napi::CallbackInfo& args);
  Napi::Value stepsPerEpoch(const Napi::CallbackInfo& args);
  Napi::Value device(const Napi::CallbackInfo& args);
  Napi::Value initialisation(const Napi::CallbackInfo& args);
  Napi::Value network(const Napi::CallbackInfo& args);

  std::shared_ptr<eval::Finetuner> finetuner_;
  std::shared_ptr<std::atomic<bool>> busy_ = std::make_shared<std::atomic<bool>>(false);
  std::shared_ptr<std::atomic<bool>> cancel_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace imlm::bridge

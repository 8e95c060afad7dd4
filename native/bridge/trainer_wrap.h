// The JS Trainer class over core/train/trainer.h. Every method that touches the model runs on
// a worker thread and returns a Promise; one operation at a time (ERR_BUSY otherwise);
// run() reports progress through a thread-safe queue and stops between steps on cancel().
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>

#include "core/train/trainer.h"

namespace imlm::bridge {

class TrainerWrap : public Napi::ObjectWrap<TrainerWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  /**
   * createTrainer(config, dist?) → Promise<Trainer>: builds and initialises the model off the JS
   * thread; with dist.worldSize > 1 it joins the process group first (dist_convert.h).
   */
  static Napi::Value create(const Napi::CallbackInfo& args);
  static Napi::Object wrap(Napi::Env env, std::shared_ptr<train::Trainer> trainer);

  explicit TrainerWrap(const Napi::CallbackInfo& args);

 private:
  Napi::Value run(const Napi::CallbackInfo& args);
  Napi::Value cancel(const Napi::CallbackInfo& args);
  Napi::Value save(const Napi::CallbackInfo& args);
  Napi::Value load(const Napi::CallbackInfo& args);
  Napi::Value exportBackbone(const Napi::CallbackInfo& args);
  Napi::Value loadBackbone(const Napi::CallbackInfo& args);
  Napi::Value queryRepresentation(const Napi::CallbackInfo& args);
  Napi::Value stepsCompleted(const Napi::CallbackInfo& args);
  Napi::Value device(const Napi::CallbackInfo& args);
  Napi::Value busy(const Napi::CallbackInfo& args);
  Napi::Value rank(const Napi::CallbackInfo& args);
  Napi::Value worldSize(const Napi::CallbackInfo& args);

  std::shared_ptr<train::Trainer> trainer_;
  std::shared_ptr<std::atomic<bool>> busy_ = std::make_shared<std::atomic<bool>>(false);
  std::shared_ptr<std::atomic<bool>> cancel_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace imlm::bridge

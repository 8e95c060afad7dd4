// The JS Encoder class over core/eval/encoder.h: loadEncoder reads a checkpoint on a worker
// thread; embed(images, options) runs on a worker thread and returns a Promise (calls on one
// encoder queue on its own thread); dispose() drops the network (an embed already running
// keeps it until it settles), and later calls fail with ERR_DISPOSED.
#pragma once

#include <napi.h>

#include <memory>

#include "core/eval/encoder.h"

namespace imlm::bridge {

class EncoderWrap : public Napi::ObjectWrap<EncoderWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  /** loadEncoder({ checkpoint, device, threads }) → Promise<Encoder>. */
  static Napi::Value load(const Napi::CallbackInfo& args);
  static Napi::Object wrap(Napi::Env env, std::shared_ptr<eval::Encoder> encoder);

  explicit EncoderWrap(const Napi::CallbackInfo& args);

 private:
  /** embed(images, { batchSize, imageSize, embedding, onProgress? }) → Promise<{ blocks, embedding }>. */
  Napi::Value embed(const Napi::CallbackInfo& args);
  Napi::Value dispose(const Napi::CallbackInfo& args);
  Napi::Value disposed(const Napi::CallbackInfo& args);
  /** { arch, stem, inChannels, hasHead, embeddingDim, blockChannels, kind, device }. */
  Napi::Value network(const Napi::CallbackInfo& args);

  /** The encoder, or ERR_DISPOSED after dispose(). */
  std::shared_ptr<eval::Encoder> live(Napi::Env env) const;

  std::shared_ptr<eval::Encoder> encoder_;
};

}  // namespace imlm::bridge

// A Promise worker for evaluation work that reports progress: reports cross to the JS
// callback through node-addon-api's AsyncProgressQueueWorker (all delivered before the Promise
// settles); a callback that throws cancels the work and the Promise rejects with its error.
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>

#include "bridge/errors.h"
#include "core/eval/progress.h"

namespace imlm::bridge {

class EvalTask : public Napi::AsyncProgressQueueWorker<eval::EvalProgress> {
 public:
  EvalTask(Napi::Env env, const Napi::Value& onProgress)
      : Napi::AsyncProgressQueueWorker<eval::EvalProgress>(env), deferred_(Napi::Promise::Deferred::New(env)) {
    if (onProgress.IsFunction()) onProgress_ = Napi::Persistent(onProgress.As<Napi::Function>());
  }
  Napi::Promise promise() { return deferred_.Promise(); }
  /** Shares an object's cancel flag (Finetuner.cancel()) instead of a private one. */
  void useCancelFlag(std::shared_ptr<std::atomic<bool>> flag) { cancel_ = std::move(flag); }

 protected:
  /** The work, on a libuv thread: no Node-API calls here. */
  virtual void work(const eval::EvalProgressFn& progress, const std::atomic<bool>* cancel) = 0;
  /** Builds the resolved value, on the JS thread. */
  virtual Napi::Value result(Napi::Env env) = 0;
  /** Called on the JS thread before the Promise settles (releases leases). */
  virtual void settled() {}

  std::shared_ptr<std::atomic<bool>> cancel_ = std::make_shared<std::atomic<bool>>(false);

 private:
  void Execute(const ExecutionProgress& progress) final {
    try {
      eval::EvalProgressFn send;
      if (!onProgress_.IsEmpty()) send = [&](const eval::EvalProgress& p) { progress.Send(&p, 1); };
      work(send, cancel_.get());
    } catch (...) {
      failure_ = describeCurrentException();
      failed_ = true;
    }
  }

  void OnProgress(const eval::EvalProgress* reports, size_t count) final {
    if (onProgress_.IsEmpty() || callbackFailed_) return;
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    for (size_t i = 0; i < count; ++i) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("stage", reports[i].stage);
      o.Set("done", static_cast<double>(reports[i].done));
      o.Set("total", static_cast<double>(reports[i].total));
      o.Set("value", reports[i].value);
      try {
        onProgress_.Call({o});
      } catch (const Napi::Error& e) {
        callbackError_ = Napi::Persistent(e.Value());
        callbackFailed_ = true;
        cancel_->store(true);
        return;
      }
    }
  }

  void OnOK() final {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    settled();
    if (callbackFailed_) {
      deferred_.Reject(callbackError_.Value());
    } else if (failed_) {
      deferred_.Reject(makeError(env, failure_).Value());
    } else {
      try {
        deferred_.Resolve(result(env));
      } catch (const Napi::Error& e) {
        deferred_.Reject(e.Value());
      } catch (...) {
        deferred_.Reject(makeError(env, describeCurrentException()).Value());
      }
    }
  }

  void OnError(const Napi::Error& error) final {
    settled();
    deferred_.Reject(error.Value());
  }

  Napi::Promise::Deferred deferred_;
  Napi::FunctionReference onProgress_;
  Napi::ObjectReference callbackError_;
  bool callbackFailed_ = false;
  ErrorInfo failure_;
  bool failed_ = false;
};

}  // namespace imlm::bridge

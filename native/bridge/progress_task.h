// A Promise worker for long work that reports progress (training runs, evaluation passes):
// reports cross to the JS callback through node-addon-api's AsyncProgressQueueWorker (all
// delivered before the Promise settles); a callback that throws cancels the work and the Promise
// rejects with its error; a C++ exception rejects it with its ImlmError code.
#pragma once

#include <napi.h>

#include <atomic>
#include <functional>
#include <memory>

#include "bridge/error_conversion.h"
#include "bridge/promise_worker.h"

namespace imlm::bridge {

template <typename Report>
class ProgressTask : public Napi::AsyncProgressQueueWorker<Report> {
  using Base = Napi::AsyncProgressQueueWorker<Report>;

 public:
  using ProgressFn = std::function<void(const Report&)>;

  ProgressTask(Napi::Env env, const Napi::Value& onProgress)
      : Base(env), deferred_(Napi::Promise::Deferred::New(env)) {
    if (onProgress.IsFunction()) onProgress_ = Napi::Persistent(onProgress.As<Napi::Function>());
  }
  Napi::Promise promise() { return deferred_.Promise(); }
  /** Shares an object's cancel flag (Trainer.cancel(), Finetuner.cancel()) instead of a private one. */
  void useCancelFlag(std::shared_ptr<std::atomic<bool>> flag) { cancel_ = std::move(flag); }

 protected:
  /** The work, on a libuv thread: no Node-API calls here. `progress` is empty without a callback. */
  virtual void work(const ProgressFn& progress, const std::atomic<bool>* cancel) = 0;
  /** One report as the JS callback receives it, on the JS thread. */
  virtual Napi::Value reportToJs(Napi::Env env, const Report& report) = 0;
  /** Builds the resolved value, on the JS thread. */
  virtual Napi::Value result(Napi::Env env) = 0;
  /** Called on the JS thread before the Promise settles (releases leases). */
  virtual void settled() {}

 private:
  void Execute(const typename Base::ExecutionProgress& progress) final {
    try {
      ProgressFn send;
      if (!onProgress_.IsEmpty()) send = [&](const Report& r) { progress.Send(&r, 1); };
      work(send, cancel_.get());
    } catch (...) {
      failure_ = describeCurrentException();
      failed_ = true;
    }
  }

  void OnProgress(const Report* reports, size_t count) final {
    if (onProgress_.IsEmpty() || callbackFailed_) return;
    Napi::Env env = this->Env();
    Napi::HandleScope scope(env);
    for (size_t i = 0; i < count; ++i) {
      try {
        onProgress_.Call({reportToJs(env, reports[i])});
      } catch (const Napi::Error& e) {
        callbackError_ = Napi::Persistent(e.Value());
        callbackFailed_ = true;
        cancel_->store(true);
        return;
      }
    }
  }

  void OnOK() final {
    Napi::Env env = this->Env();
    Napi::HandleScope scope(env);
    settled();
    if (callbackFailed_) {
      deferred_.Reject(callbackError_.Value());
    } else if (failed_) {
      deferred_.Reject(makeError(env, failure_).Value());
    } else {
      resolveWith(env, deferred_, [&] { return result(env); });
    }
  }

  void OnError(const Napi::Error& error) final {
    settled();
    deferred_.Reject(error.Value());
  }

  Napi::Promise::Deferred deferred_;
  Napi::FunctionReference onProgress_;
  std::shared_ptr<std::atomic<bool>> cancel_ = std::make_shared<std::atomic<bool>>(false);
  Napi::ObjectReference callbackError_;
  bool callbackFailed_ = false;
  ErrorInfo failure_;
  bool failed_ = false;
};

/**
 * Starts a run that `cancel` (an object's cancel() flag, shared by all its runs) can stop:
 * clears the flag, hands it to the task and queues it.
 */
template <typename Task>
Napi::Value startCancellable(Task* task, const std::shared_ptr<std::atomic<bool>>& cancel) {
  cancel->store(false);
  task->useCancelFlag(cancel);
  return startWorker(task);
}

}  // namespace imlm::bridge

#include "bridge/promise_worker.h"

namespace imlm::bridge {

void PromiseWorker::Execute() {
  try {
    run();
  } catch (...) {
    failure_ = describeCurrentException();
    failed_ = true;
  }
}

void PromiseWorker::OnOK() {
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  settled();
  if (failed_) {
    deferred_.Reject(makeError(env, failure_).Value());
    return;
  }
  resolveWith(env, deferred_, [&] { return result(env); });
}

void resolveWith(Napi::Env env, Napi::Promise::Deferred& deferred, const std::function<Napi::Value()>& build) {
  try {
    deferred.Resolve(build());
  } catch (const Napi::Error& e) {
    deferred.Reject(e.Value());
  } catch (...) {
    deferred.Reject(makeError(env, describeCurrentException()).Value());
  }
}

void PromiseWorker::OnError(const Napi::Error& error) {
  settled();
  deferred_.Reject(error.Value());
}

}  // namespace imlm::bridge

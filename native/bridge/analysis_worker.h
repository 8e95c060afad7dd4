// The one worker behind every analysis binding (bridge/analysis_binding.cc): an analysis is a
// reader (JS arguments → a request, on the JS thread), a core call (request → result, on a
// worker thread) and a writer (result → JS value, on the JS thread). `startAnalysis` puts the
// three together into a Node-API callback that returns the Promise, so a new analysis adds only
// its three functions and one table row, no worker class.
#pragma once

#include <napi.h>

#include <type_traits>
#include <utility>

#include "bridge/promise_worker.h"

namespace imlm::bridge {

template <auto compute, auto write, typename Request>
class AnalysisWorker final : public PromiseWorker {
 public:
  using Result = std::invoke_result_t<decltype(compute), const Request&>;

  AnalysisWorker(Napi::Env env, Request request) : PromiseWorker(env), request_(std::move(request)) {}

 protected:
  void run() override { result_ = compute(request_); }
  Napi::Value result(Napi::Env env) override { return write(env, result_); }

 private:
  Request request_;
  Result result_;
};

/** A Node-API callback: read(args) now, compute(request) on a worker, write(env, result) to settle the Promise. */
template <auto read, auto compute, auto write>
Napi::Value startAnalysis(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    auto request = read(args);
    return startWorker(new AnalysisWorker<compute, write, decltype(request)>(env, std::move(request)));
  });
}

/** One row of an analysis table: the exported name and its callback (startAnalysis<read, compute, write>). */
struct AnalysisFunction {
  const char* name;
  Napi::Value (*start)(const Napi::CallbackInfo& args);
};

}  // namespace imlm::bridge

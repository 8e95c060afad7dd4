#include "bridge/inspect_binding.h"

#include <functional>
#include <utility>
#include <vector>

#include <ATen/Functions.h>

#include "bridge/error_conversion.h"
#include "bridge/js_args.h"
#include "bridge/promise_worker.h"
#include "bridge/tensor_wrap.h"
#include "core/inspect/image_rows.h"
#include "core/tensor_io.h"

namespace imlm::bridge {
namespace {

/** One tensor in, one tensor out, on a worker thread. */
class TensorTask : public PromiseWorker {
 public:
  TensorTask(Napi::Env env, std::function<at::Tensor()> work) : PromiseWorker(env), work_(std::move(work)) {}

 protected:
  void run() override { result_ = work_(); }
  Napi::Value result(Napi::Env env) override { return TensorWrap::wrap(env, result_); }

 private:
  std::function<at::Tensor()> work_;
  at::Tensor result_;
};

}  // namespace

Napi::Value selectRows(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    JsArgs in(args);
    at::Tensor images = in.tensor(0, "tensor");
    const std::vector<int64_t> indices = in.at(1, "indices").integers(std::numeric_limits<int64_t>::min());
    // Only the selected rows of a memory-mapped store are read.
    const at::Tensor rows = at::tensor(indices, at::TensorOptions().dtype(at::kLong));
    return startWorker(new TensorTask(env, [images, rows] { return imlm::selectRows(images, rows, "the images"); }));
  });
}

Napi::Value toRgbBytes(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    at::Tensor images = JsArgs(args).tensor(0, "images");
    return startWorker(new TensorTask(env, [images] { return inspect::toRgbBytes(images); }));
  });
}

}  // namespace imlm::bridge

#include "bridge/inspect_binding.h"

#include <functional>
#include <utility>
#include <vector>

#include <ATen/Functions.h>

#include "bridge/errors.h"
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
    if (args.Length() < 2 || !args[1].IsArray()) throwInvalidArg(env, "expected selectRows(tensor, indices: number[])");
    at::Tensor images = TensorWrap::unwrap(env, args[0], "tensor");
    Napi::Array list = args[1].As<Napi::Array>();
    std::vector<int64_t> indices;
    indices.reserve(list.Length());
    for (uint32_t i = 0; i < list.Length(); ++i) {
      Napi::Value v = list.Get(i);
      if (!v.IsNumber()) throwInvalidArg(env, "expected indices to be integers");
      indices.push_back(v.As<Napi::Number>().Int64Value());
    }
    // Only the selected rows of a memory-mapped store are read.
    const at::Tensor rows = at::tensor(indices, at::TensorOptions().dtype(at::kLong));
    return startWorker(new TensorTask(env, [images, rows] { return imlm::selectRows(images, rows, "the images"); }));
  });
}

Napi::Value toRgbBytes(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    at::Tensor images = TensorWrap::unwrap(env, args.Length() > 0 ? args[0] : env.Undefined(), "images");
    return startWorker(new TensorTask(env, [images] { return inspect::toRgbBytes(images); }));
  });
}

}  // namespace imlm::bridge

#include "bridge/losses_binding.h"

#include <ATen/core/grad_mode.h>  // at::NoGradGuard (not pulled in by other ATen headers on 2.x)
#include <functional>
#include <string>

#include "bridge/error_conversion.h"
#include "bridge/js_args.h"
#include "bridge/promise_worker.h"
#include "bridge/tensor_wrap.h"
#include "core/losses/barlow_twins.h"
#include "core/losses/info_nce.h"
#include "core/losses/layer_mse.h"

namespace imlm::bridge {
namespace {

/** Runs `compute` on a worker thread; resolves with {loss: number, logits?: Tensor}. */
class LossTask : public PromiseWorker {
 public:
  LossTask(Napi::Env env, std::function<std::pair<at::Tensor, at::Tensor>()> compute)
      : PromiseWorker(env), compute_(std::move(compute)) {}

 protected:
  void run() override {
    at::NoGradGuard noGrad;
    std::tie(loss_, extra_) = compute_();
    value_ = loss_.item<double>();
  }
  Napi::Value result(Napi::Env env) override {
    Napi::Object out = Napi::Object::New(env);
    out.Set("loss", value_);
    if (extra_.defined()) out.Set("logits", TensorWrap::wrap(env, extra_));
    return out;
  }

 private:
  std::function<std::pair<at::Tensor, at::Tensor>()> compute_;
  at::Tensor loss_;
  at::Tensor extra_;
  double value_ = 0;
};

void requireDims(Napi::Env env, const at::Tensor& t, int64_t dims, const char* name, const char* layout) {
  if (t.dim() != dims) {
    throwInvalidArg(env, std::string("expected ") + name + " of shape " + layout + " but it has " + std::to_string(t.dim()) + " dimension(s)");
  }
}

}  // namespace

Napi::Value lossInfoNce(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    JsArgs in(args);
    at::Tensor q = in.tensor(0, "q");
    at::Tensor k = in.tensor(1, "k");
    at::Tensor queueTensor = in.tensor(2, "queue");
    const double temperature = in.number(3, "temperature");
    requireDims(env, q, 2, "q", "[N, D]");
    requireDims(env, k, 2, "k", "[N, D]");
    requireDims(env, queueTensor, 2, "queue", "[D, K]");
    return startWorker(new LossTask(env, [=] {
      losses::InfoNceResult r = losses::infoNce(q, k, queueTensor, temperature);
      return std::make_pair(r.loss, r.logits);
    }));
  });
}

Napi::Value lossLayerMse(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    JsArgs in(args);
    at::Tensor q = in.tensor(0, "q");
    at::Tensor k = in.tensor(1, "k");
    const int64_t pool = in.integer(2, "poolSize", 1);
    const double weight = in.number(3, "weight");
    requireDims(env, q, 4, "q", "[N, C, H, W]");
    requireDims(env, k, 4, "k", "[N, C, H, W]");
    return startWorker(new LossTask(env, [=] { return std::make_pair(losses::layerMse(q, k, pool, weight), at::Tensor()); }));
  });
}

Napi::Value lossBarlowTwins(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    JsArgs in(args);
    at::Tensor z1 = in.tensor(0, "z1");
    at::Tensor z2 = in.tensor(1, "z2");
    requireDims(env, z1, 2, "z1", "[N, H]");
    requireDims(env, z2, 2, "z2", "[N, H]");
    losses::BarlowWeights w;
    w.lambda = in.number(2, "lambda");
    w.scale = in.number(3, "scale");
    w.weighting = in.at(4, "weighting").choice<losses::BarlowWeighting>(
        {{"kaku2021", losses::BarlowWeighting::kKaku2021}, {"original", losses::BarlowWeighting::kOriginal}});
    return startWorker(new LossTask(env, [=] { return std::make_pair(losses::barlowTwinsLoss(z1, z2, w), at::Tensor()); }));
  });
}

}  // namespace imlm::bridge

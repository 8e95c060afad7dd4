#include "bridge/losses_binding.h"

#include <ATen/core/grad_mode.h>  // at::NoGradGuard (not pulled in by other ATen headers on 2.x)
#include <functional>
#include <string>

#include "bridge/errors.h"
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

double numberArg(const Napi::CallbackInfo& args, size_t i, const char* name) {
  if (args.Length() <= i || !args[i].IsNumber()) throwInvalidArg(args.Env(), std::string("expected ") + name + " to be a number");
  return args[i].As<Napi::Number>().DoubleValue();
}

void requireDims(Napi::Env env, const at::Tensor& t, int64_t dims, const char* name, const char* layout) {
  if (t.dim() != dims) {
    throwInvalidArg(env, std::string("expected ") + name + " of shape " + layout + " but it has " + std::to_string(t.dim()) + " dimension(s)");
  }
}

}  // namespace

Napi::Value lossInfoNce(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    at::Tensor q = TensorWrap::unwrap(env, args[0], "q");
    at::Tensor k = TensorWrap::unwrap(env, args[1], "k");
    at::Tensor queueTensor = TensorWrap::unwrap(env, args[2], "queue");
    const double temperature = numberArg(args, 3, "temperature");
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
    at::Tensor q = TensorWrap::unwrap(env, args[0], "q");
    at::Tensor k = TensorWrap::unwrap(env, args[1], "k");
    const auto pool = static_cast<int64_t>(numberArg(args, 2, "poolSize"));
    const double weight = numberArg(args, 3, "weight");
    requireDims(env, q, 4, "q", "[N, C, H, W]");
    requireDims(env, k, 4, "k", "[N, C, H, W]");
    return startWorker(new LossTask(env, [=] { return std::make_pair(losses::layerMse(q, k, pool, weight), at::Tensor()); }));
  });
}

Napi::Value lossBarlowTwins(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    at::Tensor z1 = TensorWrap::unwrap(env, args[0], "z1");
    at::Tensor z2 = TensorWrap::unwrap(env, args[1], "z2");
    requireDims(env, z1, 2, "z1", "[N, H]");
    requireDims(env, z2, 2, "z2", "[N, H]");
    losses::BarlowWeights w;
    w.lambda = numberArg(args, 2, "lambda");
    w.scale = numberArg(args, 3, "scale");
    const bool original = args.Length() > 4 && args[4].IsString() && args[4].As<Napi::String>().Utf8Value() == "original";
    w.weighting = original ? losses::BarlowWeighting::kOriginal : losses::BarlowWeighting::kKaku2021;
    return startWorker(new LossTask(env, [=] { return std::make_pair(losses::barlowTwinsLoss(z1, z2, w), at::Tensor()); }));
  });
}

}  // namespace imlm::bridge

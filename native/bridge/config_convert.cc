#include "bridge/config_convert.h"

#include <string>

namespace imlm::bridge {

train::TrainConfig toTrainConfig(const JsValue& value) {
  JsObject f(value);
  train::TrainConfig c;
  c.backbone.arch = f.string("arch");
  c.backbone.stem = f.choice<models::Stem>("stem", {{"standard", models::Stem::kStandard}, {"small", models::Stem::kSmall}});
  c.backbone.inChannels = f.integer("inChannels");
  c.backbone.zeroInitResidual = f.boolean("zeroInitResidual");
  c.backbone.embeddingDim = f.integer("embeddingDim");
  c.backbone.head = f.choice<models::Head>("head", {{"fc", models::Head::kFc}, {"mlp", models::Head::kMlp}});
  c.moco.queueSize = f.integer("queueSize");
  c.moco.temperature = f.number("temperature");
  c.keyMomentum.base = f.number("keyMomentum");
  c.keyMomentum.kind = f.choice<optim::MomentumSchedule>(
      "keyMomentumSchedule", {{"constant", optim::MomentumSchedule::kConstant}, {"cosine", optim::MomentumSchedule::kCosine}});
  c.moco.shuffleGroups = f.integer("shuffleGroups");

  JsObject inter = f.object("intermediate");
  c.moco.intermediate.name = inter.string("loss");  // checked against the registry (core/losses/intermediate_loss.cc)
  JsObject mse = inter.object("mse");
  c.moco.intermediate.mse.poolSizes = mse.field("poolSizes").integers<4>(1);
  c.moco.intermediate.mse.weights = mse.field("weights").numbers<4>();
  JsObject barlow = inter.object("barlow");
  c.moco.intermediate.barlow.projectorDims = barlow.field("projectorDims").integers<3>(1);
  c.moco.intermediate.barlow.weights.lambda = barlow.number("lambda");
  c.moco.intermediate.barlow.weights.scale = barlow.number("scale");
  c.moco.intermediate.barlow.weights.weighting = barlow.choice<losses::BarlowWeighting>(
      "weighting", {{"kaku2021", losses::BarlowWeighting::kKaku2021}, {"original", losses::BarlowWeighting::kOriginal}});

  JsObject opt = f.object("optimizer");
  c.optimizer.lrSchedule.lr = opt.number("lr");
  c.optimizer.sgd.momentum = opt.number("momentum");
  c.optimizer.sgd.weightDecay = opt.number("weightDecay");
  c.optimizer.sgd.nesterov = opt.boolean("nesterov");
  c.optimizer.lrSchedule.kind = opt.choice<optim::LrSchedule>(
      "schedule", {{"constant", optim::LrSchedule::kConstant}, {"step", optim::LrSchedule::kStep}, {"cosine", optim::LrSchedule::kCosine}});
  c.optimizer.lrSchedule.warmupSteps = opt.integer("warmupSteps");
  for (int64_t m : opt.field("milestones").integers(0)) c.optimizer.lrSchedule.milestones.push_back(m);
  c.optimizer.lrSchedule.gamma = opt.number("gamma");
  c.optimizer.gradClip = opt.number("gradClip");

  c.totalSteps = f.integer("totalSteps");
  c.batchSize = f.integer("batchSize");
  c.imageSize = f.integer("imageSize");
  c.device = f.string("device");
  c.precision = f.choice<train::Precision>(
      "precision", {{"fp32", train::Precision::kFp32}, {"bf16", train::Precision::kBf16}, {"fp16", train::Precision::kFp16}});
  c.channelsLast = f.boolean("channelsLast");
  c.cudnnBenchmark = f.boolean("cudnnBenchmark");
  c.seed = static_cast<uint64_t>(f.integer("seed", 0));
  c.threads = f.integer("threads", 0);
  c.moco.bnGroups = f.integer("bnGroups", 1);

  // The configuration as given, stored in every checkpoint (docs/formats.md).
  Napi::Env env = value.raw().Env();
  Napi::Object json = env.Global().Get("JSON").As<Napi::Object>();
  c.json = json.Get("stringify").As<Napi::Function>().Call(json, {value.raw()}).As<Napi::String>().Utf8Value();
  return c;
}

}  // namespace imlm::bridge

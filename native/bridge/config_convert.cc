#include "bridge/config_convert.h"

#include <string>

namespace imlm::bridge {

train::TrainConfig toTrainConfig(const JsValue& value) {
  using train::IntermediateLoss;
  JsObject f(value);
  train::TrainConfig c;
  c.backbone.arch = f.string("arch");
  c.backbone.stem = f.choice<models::Stem>("stem", {{"standard", models::Stem::kStandard}, {"small", models::Stem::kSmall}});
  c.backbone.inChannels = f.integer("inChannels");
  c.backbone.zeroInitResidual = f.boolean("zeroInitResidual");
  c.backbone.embeddingDim = f.integer("embeddingDim");
  c.backbone.head = f.choice<models::Head>("head", {{"fc", models::Head::kFc}, {"mlp", models::Head::kMlp}});
  c.queueSize = f.integer("queueSize");
  c.temperature = f.number("temperature");
  c.keyMomentum = f.number("keyMomentum");
  c.keyMomentumSchedule = f.choice<train::MomentumSchedule>(
      "keyMomentumSchedule", {{"constant", train::MomentumSchedule::kConstant}, {"cosine", train::MomentumSchedule::kCosine}});
  c.shuffleGroups = f.integer("shuffleGroups");

  JsObject inter = f.object("intermediate");
  c.intermediate = inter.choice<IntermediateLoss>(
      "loss", {{"none", IntermediateLoss::kNone}, {"mse", IntermediateLoss::kMse}, {"barlow", IntermediateLoss::kBarlow}});
  JsObject mse = inter.object("mse");
  c.msePoolSizes = mse.field("poolSizes").integers<4>(1);
  c.mseWeights = mse.field("weights").numbers<4>();
  JsObject barlow = inter.object("barlow");
  c.barlowProjectorDims = barlow.field("projectorDims").integers<3>(1);
  c.barlow.lambda = barlow.number("lambda");
  c.barlow.scale = barlow.number("scale");
  c.barlow.weighting = barlow.choice<losses::BarlowWeighting>(
      "weighting", {{"kaku2021", losses::BarlowWeighting::kKaku2021}, {"original", losses::BarlowWeighting::kOriginal}});

  JsObject opt = f.object("optimizer");
  c.optimizer.lr = opt.number("lr");
  c.optimizer.momentum = opt.number("momentum");
  c.optimizer.weightDecay = opt.number("weightDecay");
  c.optimizer.nesterov = opt.boolean("nesterov");
  c.optimizer.schedule = opt.choice<train::LrSchedule>(
      "schedule", {{"constant", train::LrSchedule::kConstant}, {"step", train::LrSchedule::kStep}, {"cosine", train::LrSchedule::kCosine}});
  c.optimizer.warmupSteps = opt.integer("warmupSteps");
  for (int64_t m : opt.field("milestones").integers(0)) c.optimizer.milestones.push_back(m);
  c.optimizer.gamma = opt.number("gamma");
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
  c.bnGroups = f.integer("bnGroups", 1);

  // The configuration as given, stored in every checkpoint (docs/formats.md).
  Napi::Env env = value.raw().Env();
  Napi::Object json = env.Global().Get("JSON").As<Napi::Object>();
  c.json = json.Get("stringify").As<Napi::Function>().Call(json, {value.raw()}).As<Napi::String>().Utf8Value();
  return c;
}

}  // namespace imlm::bridge

#include "bridge/config_convert.h"

#include <string>
#include <vector>

#include "bridge/errors.h"

namespace imlm::bridge {
namespace {

/** Reads typed fields of one JS object, naming the field path in errors. */
class Fields {
 public:
  Fields(Napi::Env env, Napi::Value value, std::string path) : env_(env), path_(std::move(path)) {
    if (!value.IsObject()) throwInvalidArg(env_, "expected " + path_ + " to be an object");
    object_ = value.As<Napi::Object>();
  }

  Napi::Value raw(const char* key) const {
    Napi::Value v = object_.Get(key);
    if (v.IsUndefined()) throwInvalidArg(env_, "expected " + name(key) + " to be given (resolve the config with a preset first)");
    return v;
  }
  std::string string(const char* key) const {
    Napi::Value v = raw(key);
    if (!v.IsString()) throwInvalidArg(env_, "expected " + name(key) + " to be a string");
    return v.As<Napi::String>().Utf8Value();
  }
  double number(const char* key) const {
    Napi::Value v = raw(key);
    if (!v.IsNumber()) throwInvalidArg(env_, "expected " + name(key) + " to be a number");
    return v.As<Napi::Number>().DoubleValue();
  }
  int64_t integer(const char* key) const {
    const double d = number(key);
    if (d != static_cast<double>(static_cast<int64_t>(d))) throwInvalidArg(env_, "expected " + name(key) + " to be an integer");
    return static_cast<int64_t>(d);
  }
  bool boolean(const char* key) const {
    Napi::Value v = raw(key);
    if (!v.IsBoolean()) throwInvalidArg(env_, "expected " + name(key) + " to be a boolean");
    return v.As<Napi::Boolean>().Value();
  }
  std::vector<double> numbers(const char* key) const {
    Napi::Value v = raw(key);
    if (!v.IsArray()) throwInvalidArg(env_, "expected " + name(key) + " to be an array of numbers");
    Napi::Array a = v.As<Napi::Array>();
    std::vector<double> out;
    for (uint32_t i = 0; i < a.Length(); ++i) {
      Napi::Value item = a.Get(i);
      if (!item.IsNumber()) throwInvalidArg(env_, "expected " + name(key) + "[" + std::to_string(i) + "] to be a number");
      out.push_back(item.As<Napi::Number>().DoubleValue());
    }
    return out;
  }
  template <size_t N>
  std::array<double, N> fixedNumbers(const char* key) const {
    std::vector<double> v = numbers(key);
    if (v.size() != N) throwInvalidArg(env_, "expected " + name(key) + " to hold " + std::to_string(N) + " numbers");
    std::array<double, N> out{};
    for (size_t i = 0; i < N; ++i) out[i] = v[i];
    return out;
  }
  Fields child(const char* key) const { return Fields(env_, raw(key), name(key)); }

  template <typename Enum>
  Enum choice(const char* key, std::initializer_list<std::pair<const char*, Enum>> options) const {
    const std::string s = string(key);
    std::string allowed;
    for (const auto& [label, value] : options) {
      if (s == label) return value;
      allowed += (allowed.empty() ? "'" : ", '") + std::string(label) + "'";
    }
    throwInvalidArg(env_, "expected " + name(key) + " to be one of " + allowed + " but received '" + s + "'");
  }

 private:
  std::string name(const char* key) const { return path_ + "." + key; }
  Napi::Env env_;
  Napi::Object object_;
  std::string path_;
};

template <size_t N>
std::array<int64_t, N> toIntegers(Napi::Env env, const std::array<double, N>& values, const char* what) {
  std::array<int64_t, N> out{};
  for (size_t i = 0; i < N; ++i) {
    if (values[i] < 1 || values[i] != static_cast<double>(static_cast<int64_t>(values[i]))) {
      throwInvalidArg(env, std::string("expected ") + what + " to hold positive integers");
    }
    out[i] = static_cast<int64_t>(values[i]);
  }
  return out;
}

}  // namespace

train::TrainConfig toTrainConfig(Napi::Env env, const Napi::Value& value) {
  Fields f(env, value, "config");
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

  Fields inter = f.child("intermediate");
  c.moco.intermediate.name = inter.string("loss");  // checked against the registry (core/losses/intermediate_loss.cc)
  Fields mse = inter.child("mse");
  c.moco.intermediate.mse.poolSizes =
      toIntegers(env, mse.fixedNumbers<4>("poolSizes"), "config.intermediate.mse.poolSizes");
  c.moco.intermediate.mse.weights = mse.fixedNumbers<4>("weights");
  Fields barlow = inter.child("barlow");
  c.moco.intermediate.barlow.projectorDims =
      toIntegers(env, barlow.fixedNumbers<3>("projectorDims"), "config.intermediate.barlow.projectorDims");
  c.moco.intermediate.barlow.weights.lambda = barlow.number("lambda");
  c.moco.intermediate.barlow.weights.scale = barlow.number("scale");
  c.moco.intermediate.barlow.weights.weighting = barlow.choice<losses::BarlowWeighting>(
      "weighting", {{"kaku2021", losses::BarlowWeighting::kKaku2021}, {"original", losses::BarlowWeighting::kOriginal}});

  Fields opt = f.child("optimizer");
  c.optimizer.lrSchedule.lr = opt.number("lr");
  c.optimizer.sgd.momentum = opt.number("momentum");
  c.optimizer.sgd.weightDecay = opt.number("weightDecay");
  c.optimizer.sgd.nesterov = opt.boolean("nesterov");
  c.optimizer.lrSchedule.kind = opt.choice<optim::LrSchedule>(
      "schedule", {{"constant", optim::LrSchedule::kConstant}, {"step", optim::LrSchedule::kStep}, {"cosine", optim::LrSchedule::kCosine}});
  c.optimizer.lrSchedule.warmupSteps = opt.integer("warmupSteps");
  for (double m : opt.numbers("milestones")) c.optimizer.lrSchedule.milestones.push_back(static_cast<int64_t>(m));
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
  c.seed = static_cast<uint64_t>(f.integer("seed"));
  // Optional (configurations written before it existed lack it): 0 = one thread per core.
  Napi::Object object = value.As<Napi::Object>();
  if (object.Has("threads") && !object.Get("threads").IsUndefined()) c.threads = f.integer("threads");
  if (object.Has("bnGroups") && !object.Get("bnGroups").IsUndefined()) c.moco.bnGroups = f.integer("bnGroups");

  Napi::Object json = env.Global().Get("JSON").As<Napi::Object>();
  c.json = json.Get("stringify").As<Napi::Function>().Call(json, {value}).As<Napi::String>().Utf8Value();
  return c;
}

}  // namespace imlm::bridge

#include "core/eval/backbone_file.h"

#include <array>

#include <ATen/core/grad_mode.h>

#include "core/errors.h"
#include "core/models/architectures.h"
#include "core/tensor_io.h"

namespace imlm::eval {
namespace {

constexpr const char* kQueryPrefix = "encoder_q.";

[[noreturn]] void bad(const std::string& origin, const std::string& what) {
  throw Error(ErrorCode::kFormat, origin + ": " + what);
}

bool isHeadName(const std::string& name) { return name.rfind("fc.", 0) == 0; }

int64_t blocksIn(const io::TensorMap& w, int layer) {
  int64_t n = 0;
  while (w.count("layer" + std::to_string(layer) + "." + std::to_string(n) + ".conv1.weight")) ++n;
  return n;
}

}  // namespace

BackboneWeights readBackboneWeights(const std::string& path) {
  io::SafetensorsContent content = io::readSafetensors(path);
  BackboneWeights out;
  const std::string prefix = kQueryPrefix;
  const bool trainState = content.tensors.count(prefix + "conv1.weight") > 0;
  out.kind = trainState ? "train-state" : "backbone";
  for (auto& [name, tensor] : content.tensors) {
    if (trainState) {
      if (name.rfind(prefix, 0) == 0) out.weights[name.substr(prefix.size())] = tensor;
    } else {
      out.weights[name] = tensor;
    }
  }
  auto conv1 = out.weights.find("conv1.weight");
  if (conv1 == out.weights.end() || conv1->second.dim() != 4) {
    bad(path, "neither a training state (encoder_q.conv1.weight) nor a torchvision-named backbone (conv1.weight) — "
              "pass checkpoints/last.safetensors or backbone.safetensors of a run");
  }
  const bool bottleneck = out.weights.count("layer1.0.conv3.weight") > 0;
  std::array<int64_t, 4> blocks{};
  for (int layer = 1; layer <= 4; ++layer) blocks[layer - 1] = blocksIn(out.weights, layer);
  const models::Architecture* arch = models::architectureWithBlocks(bottleneck, blocks);
  if (arch == nullptr) {
    bad(path, std::string(bottleneck ? "Bottleneck" : "BasicBlock") + " blocks per layer [" + std::to_string(blocks[0]) + ", " +
                  std::to_string(blocks[1]) + ", " + std::to_string(blocks[2]) + ", " + std::to_string(blocks[3]) +
                  "] match no architecture; expected one of " + models::architectureNamesForMessage());
  }
  out.options.arch = arch->name;
  const int64_t kernel = conv1->second.size(2);
  if (kernel != 3 && kernel != 7) bad(path, "conv1.weight has a " + std::to_string(kernel) + "×" + std::to_string(kernel) + " kernel; expected 3 (small stem) or 7");
  out.options.stem = kernel == 3 ? models::Stem::kSmall : models::Stem::kStandard;
  out.options.inChannels = conv1->second.size(1);
  // A fine-tuned network's fc is its classifier, not an embedding head.
  auto format = content.metadata.find("format");
  if (format != content.metadata.end() && format->second == "imlm-native/finetune-state") {
    out.kind = "finetune-state";
    return out;
  }
  if (out.weights.count("fc.weight")) {
    out.hasHead = true;
    out.options.head = models::Head::kFc;
    out.options.embeddingDim = out.weights.at("fc.weight").size(0);
  } else if (out.weights.count("fc.0.weight") && out.weights.count("fc.2.weight")) {
    out.hasHead = true;
    out.options.head = models::Head::kMlp;
    out.options.embeddingDim = out.weights.at("fc.2.weight").size(0);
  }
  return out;
}

void copyWeights(models::ResNetImpl& model, const io::TensorMap& weights, bool withHead, const std::string& origin) {
  at::NoGradGuard noGrad;
  io::TensorMap own;
  for (const auto& item : model.named_parameters()) own[item.key()] = item.value();
  for (const auto& item : model.named_buffers()) own[item.key()] = item.value();
  // Check everything before writing anything.
  for (const auto& [name, tensor] : own) {
    if (!withHead && isHeadName(name)) continue;
    auto it = weights.find(name);
    if (it == weights.end()) bad(origin, "tensor '" + name + "' is missing (a torchvision " + model.options().arch + " needs it)");
    if (!it->second.sizes().equals(tensor.sizes()) || it->second.scalar_type() != tensor.scalar_type()) {
      // As strict as Trainer::loadBackbone: an I32 running_mean would be converted silently.
      bad(origin, "tensor '" + name + "' should be " + shapeString(tensor.sizes()) + " " + c10::toString(tensor.scalar_type()) +
                      " but is " + shapeString(it->second.sizes()) + " " + c10::toString(it->second.scalar_type()));
    }
    if (at::isFloatingType(it->second.scalar_type()) && !at::isfinite(it->second).all().item<bool>()) {
      bad(origin, "tensor '" + name + "' holds NaN or infinite values");
    }
  }
  for (auto& [name, tensor] : own) {
    if (!withHead && isHeadName(name)) continue;
    tensor.copy_(weights.at(name));
  }
}

models::ResNet loadNetwork(const BackboneWeights& file, const std::string& origin) {
  models::ResNet model(file.options);
  copyWeights(*model, file.weights, file.hasHead, origin);
  model->eval();
  return model;
}

}  // namespace imlm::eval

#include "core/io/checkpoint.h"

#include <utility>

#include <ATen/Functions.h>

#include "core/compat.h"
#include "core/errors.h"

namespace imlm::io {
namespace {

/** Writes a state file stamped with its format, format version 1 and the LibTorch that wrote it. */
void writeState(const std::string& path, const TensorMap& tensors, Metadata metadata, const char* format) {
  metadata["format"] = format;
  metadata["format_version"] = "1";
  metadata["libtorch_version"] = compat::headerVersion();
  writeSafetensors(path, tensors, metadata);
}

}  // namespace

std::string firstNonFiniteTensor(const TensorMap& tensors) {
  for (const auto& [name, tensor] : tensors) {
    if (at::isFloatingType(tensor.scalar_type()) && !at::isfinite(tensor).all().item<bool>()) return name;
  }
  return "";
}

void writeTrainState(const std::string& path, TensorMap state, const TensorMap& extra, Metadata metadata,
                     const std::string& configJson, int64_t stepsCompleted) {
  const std::string bad = firstNonFiniteTensor(state);
  if (!bad.empty()) {
    throw Error(ErrorCode::kNonFinite, "the model's tensor '" + bad + "' holds NaN or infinite values after step " +
                                           std::to_string(stepsCompleted) +
                                           "; the state was not saved (the last saved checkpoint is intact). "
                                           "Lower the learning rate or enable gradient clipping.");
  }
  for (const auto& [name, tensor] : extra) state[name] = tensor;
  metadata["config"] = configJson;
  writeState(path, state, std::move(metadata), "imlm-native/train-state");
}

void writeFinetuneState(const std::string& path, const TensorMap& state, Metadata metadata, const std::string& arch) {
  const std::string bad = firstNonFiniteTensor(state);
  if (!bad.empty()) {
    throw Error(ErrorCode::kNonFinite, "the fine-tuned network's tensor '" + bad + "' holds NaN or infinite values; not saved");
  }
  metadata["arch"] = arch;
  writeState(path, state, std::move(metadata), "imlm-native/finetune-state");
}

void writeBackbone(const std::string& path, const TensorMap& weights, Metadata metadata, const std::string& arch) {
  metadata["format"] = "imlm-native/backbone";
  metadata["arch"] = arch;
  writeSafetensors(path, weights, metadata);
}

}  // namespace imlm::io

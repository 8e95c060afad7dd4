// The files a Trainer and a Finetuner write (docs/formats.md): a training state, a fine-tuning
// state and a backbone. Their format strings and metadata, and the refusal to write weights that
// hold NaN or infinite values, live here once; the bridge's wrappers only gather the tensors.
#pragma once

#include <cstdint>
#include <string>

#include "core/io/safetensors.h"

namespace imlm::io {

/** The name of the first floating-point tensor holding NaN or ±inf; empty if there is none. */
std::string firstNonFiniteTensor(const TensorMap& tensors);

/**
 * A trainer's whole state plus `extra` tensors (format imlm-native/train-state) with the
 * configuration's JSON; refuses (kNonFinite) a state that is not finite after
 * `stepsCompleted` steps, leaving the previous file intact.
 */
void writeTrainState(const std::string& path, TensorMap state, const TensorMap& extra, Metadata metadata,
                     const std::string& configJson, int64_t stepsCompleted);

/** A fine-tuned network (format imlm-native/finetune-state); refuses (kNonFinite) one that is not finite. */
void writeFinetuneState(const std::string& path, const TensorMap& state, Metadata metadata, const std::string& arch);

/** A query backbone with torchvision's names (format imlm-native/backbone). */
void writeBackbone(const std::string& path, const TensorMap& weights, Metadata metadata, const std::string& arch);

}  // namespace imlm::io

// Networks to evaluate, from the files imlm-native writes: a training state
// (checkpoints/last.safetensors: `encoder_q.*` is used, the key encoder, queue and optimiser are
// ignored) or a torchvision-named backbone (backbone.safetensors, or converted weights). The
// architecture, stem, input channels and head are read off the weight shapes, so no
// configuration has to travel with the file.
#pragma once

#include <string>

#include "core/io/safetensors.h"
#include "core/models/resnet.h"

namespace imlm::eval {

struct BackboneWeights {
  models::ResNetOptions options;  // inferred; `head`/`embeddingDim` describe the file's head if any
  bool hasHead = false;           // the file holds the MoCo head (fc.*)
  std::string kind;               // "train-state", "backbone" or "finetune-state" (fc = classifier: no head)
  io::TensorMap weights;          // torchvision names (the `encoder_q.` prefix removed)
};

/** Throws kIo / kFormat (naming the file) when it is neither kind or the shapes do not fit a ResNet. */
BackboneWeights readBackboneWeights(const std::string& path);

/**
 * Copies `weights` into `model` (every parameter and buffer by name, shapes checked). The head
 * (fc.*) is copied only when `withHead`; otherwise the model keeps its own.
 */
void copyWeights(models::ResNetImpl& model, const io::TensorMap& weights, bool withHead, const std::string& origin);

/** The network a file describes, with its weights (head included when it has one), in eval mode. */
models::ResNet loadNetwork(const BackboneWeights& file, const std::string& origin);

}  // namespace imlm::eval

// The intermediate-layer term of a MoCo step (Kaku et al. 2021): for each of the encoder's four
// blocks, a term between the query's and the key's block outputs, added to InfoNCE. One
// interface; each loss is a file pair of its own plus one line in the registry
// (intermediate_loss.cc), which maps the configuration's name (config.intermediate.loss,
// docs/formats.md) to it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include "core/losses/barlow_twins.h"
#include "core/losses/layer_mse.h"

namespace imlm::dist {
class ProcessGroup;
}

namespace imlm::losses {

/** Which intermediate loss, and the options of those that have any (each reads its own). */
struct IntermediateLossOptions {
  std::string name;  // a name in the registry (intermediate_loss.cc)
  LayerMseOptions mse;
  BarlowTwinsOptions barlow;
};

/** The encoder whose blocks a loss reads. */
struct EncoderBlocks {
  std::array<int64_t, 4> channels{};  // of the outputs of layer1…layer4
  // The encoders' ghost-BN groups (ssl::MocoOptions::bnGroups): a loss's own batch norms
  // normalise the same sub-batches.
  int64_t bnGroups = 0;
};

class IntermediateLoss {
 public:
  virtual ~IntermediateLoss() = default;

  /**
   * Whether the block terms count: false for "none", whose terms are zeros that are reported
   * but not added to the total, and whose key block features are never gathered across ranks.
   */
  virtual bool addsTerms() const { return true; }

  /**
   * The loss's trainable modules, to be registered on the model under these names (they are
   * state names: docs/formats.md). The model's optimiser, state and broadcasts then cover them.
   */
  virtual std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> modules() const { return {}; }

  /** Initialises the modules' weights from `generator` (after the encoder's, before the queue's). */
  virtual void initialize(at::Generator& generator) {}

  /**
   * A key block feature reduced to what term() reads of it, so that gathering it across ranks
   * is cheap; term() must read the same numbers from the reduced feature as from the full one.
   */
  virtual at::Tensor reduceKeyFeature(size_t block, const at::Tensor& feature) const = 0;

  /**
   * The term of block `block` (0…3), a scalar with gradient through `query` (N×C×H×W; `key`
   * has no gradient, and may be undefined when addsTerms() is false). `group`: the ranks of a
   * data-parallel run, for terms computed from global-batch statistics; null in one process.
   */
  virtual at::Tensor term(size_t block, const at::Tensor& query, const at::Tensor& key, dist::ProcessGroup* group) = 0;
};

/** The loss named options.name for `encoder`; throws kInvalidArgument for an unknown name, listing the known ones. */
std::unique_ptr<IntermediateLoss> makeIntermediateLoss(const IntermediateLossOptions& options, const EncoderBlocks& encoder);

}  // namespace imlm::losses

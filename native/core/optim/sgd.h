// SGD with momentum, weight decay and Nesterov, numerically as torch.optim.SGD(foreach=True),
// in multi-tensor (_foreach_*) operations, with named momentum buffers so checkpoints can store
// them by name. A step can be masked on the device (AMP's found_inf, for every precision): the
// trainer never reads on the host whether a step's gradients were finite.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

namespace imlm::optim {

/** As config.optimizer's momentum, weightDecay and nesterov (docs/formats.md). */
struct SgdOptions {
  double momentum = 0;
  double dampening = 0;  // torch.optim.SGD's; no configuration sets it, so it stays 0 (off)
  double weightDecay = 0;
  bool nesterov = false;
};

class Sgd {
 public:
  /** `params`: the trainable parameters with their full names (state names). */
  Sgd(std::vector<std::pair<std::string, at::Tensor>> params, SgdOptions options);

  /**
   * One update with learning rate `lr`; parameters without a gradient are skipped. `apply`, a
   * 0-d bool tensor on the parameters' device, masks the whole update on the device: where it is false, no parameter and no momentum buffer changes, whatever the
   * gradients hold (NaN included). The gradients are consumed (weight decay is added into them).
   */
  void step(double lr, const at::Tensor& apply);
  void zeroGrad();

  /** Global L2 norm of all gradients, a 0-d tensor on their device (no host read). */
  at::Tensor gradNorm() const;
  /**
   * clip_grad_norm_: scales the gradients so their global L2 norm is at most maxNorm; returns
   * the norm before clipping (0-d, on the device).
   */
  at::Tensor clipGradNorm(double maxNorm);

  /** The gradients that exist now, in parameter order (views of the parameters' .grad). */
  std::vector<at::Tensor> grads() const;

  const std::vector<std::pair<std::string, at::Tensor>>& params() const { return params_; }
  /** Momentum buffers by parameter name (empty before the first step). */
  std::map<std::string, at::Tensor>& momentumBuffers() { return buffers_; }
  const std::map<std::string, at::Tensor>& momentumBuffers() const { return buffers_; }

 private:
  std::vector<std::pair<std::string, at::Tensor>> params_;
  SgdOptions options_;
  std::map<std::string, at::Tensor> buffers_;
};

}  // namespace imlm::optim

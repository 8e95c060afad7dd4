// SGD with momentum, weight decay and Nesterov, numerically as torch.optim.SGD (its
// single-tensor path), with named momentum buffers so checkpoints can store them by name.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

namespace imlm::optim {

struct SgdOptions {
  double momentum = 0.9;
  double dampening = 0.0;
  double weightDecay = 1e-4;
  bool nesterov = false;
};

class Sgd {
 public:
  /** `params`: the trainable parameters with their full names (state names). */
  Sgd(std::vector<std::pair<std::string, at::Tensor>> params, SgdOptions options);

  /** One update with learning rate `lr`; parameters without a gradient are skipped. */
  void step(double lr);
  void zeroGrad();

  /** Global L2 norm of all gradients clipped to maxNorm (clip_grad_norm_); returns the norm. */
  double clipGradNorm(double maxNorm);

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

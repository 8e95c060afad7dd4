// Adam as torch.optim.Adam (its single-tensor path, L2 weight decay added to the gradient,
// amsgrad off), with named state tensors so a fine-tuning checkpoint can store and resume it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

namespace imlm::optim {

struct AdamOptions {
  // torch.optim.Adam's defaults, kept here: no JavaScript caller sets them (docs/method.md's
  // fine-tuning and probing use them as they are).
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weightDecay = 0;  // the fine-tuner sets it; the linear probe uses none
};

class Adam {
 public:
  /** `params`: the trainable parameters with their names (used as state names). */
  Adam(std::vector<std::pair<std::string, at::Tensor>> params, AdamOptions options);

  /** One update with learning rate `lr`; parameters without a gradient are skipped. */
  void step(double lr);
  void zeroGrad();

  /** `exp_avg.<name>`, `exp_avg_sq.<name>` and `step` (I64 []); empty before the first step. */
  std::map<std::string, at::Tensor> state() const;
  /** Replaces the state (validated first: names, shapes); `origin` names the file in errors. */
  void loadState(const std::map<std::string, at::Tensor>& state, const std::string& origin);

  int64_t steps() const { return steps_; }

 private:
  std::vector<std::pair<std::string, at::Tensor>> params_;
  AdamOptions options_;
  std::map<std::string, at::Tensor> expAvg_;
  std::map<std::string, at::Tensor> expAvgSq_;
  int64_t steps_ = 0;
};

}  // namespace imlm::optim

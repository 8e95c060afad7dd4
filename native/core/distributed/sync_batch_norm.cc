#include "core/distributed/sync_batch_norm.h"

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>

#include <vector>

#include "core/distributed/differentiable.h"
#include "core/errors.h"

namespace imlm::dist {
namespace {

thread_local ProcessGroup* activeGroup = nullptr;

}  // namespace

SyncBatchNormScope::SyncBatchNormScope(ProcessGroup* group) : previous_(activeGroup) { activeGroup = group; }
SyncBatchNormScope::~SyncBatchNormScope() { activeGroup = previous_; }

ProcessGroup* syncBatchNormGroup() { return activeGroup; }

at::Tensor syncBatchNorm(ProcessGroup& group, const at::Tensor& x, const BatchNormState& state) {
  if (x.dim() < 2) {
    throw Error(ErrorCode::kInvalidArgument,
                "SyncBatchNorm expects an input of at least 2 dimensions [N, C, ...] but received " +
                    std::to_string(x.dim()));
  }
  const int64_t channels = x.size(1);
  std::vector<int64_t> reduceDims{0};
  for (int64_t d = 2; d < x.dim(); ++d) reduceDims.push_back(d);
  std::vector<int64_t> shape(static_cast<size_t>(x.dim()), 1);
  shape[1] = channels;  // [1, C, 1, ...]: broadcasts per channel

  const at::Tensor xf = x.to(at::kFloat);
  const double localCount = static_cast<double>(x.numel() / channels);
  // Two passes, as accurate as one process's batch norm: the global mean from [Σx (C), count],
  // then the global Σ(x − mean)². (E[x²] − E[x]² in one all-reduce loses digits when |mean| ≫ std.)
  at::Tensor first = allReduceSum(group, at::cat({xf.sum(reduceDims), at::full({1}, localCount, xf.options())}));
  at::Tensor count = first.narrow(0, channels, 1);
  at::Tensor mean = first.narrow(0, 0, channels) / count;
  at::Tensor centred = xf - mean.view(shape);
  // Biased variance normalises, as batch_norm does.
  at::Tensor var = allReduceSum(group, centred.square().sum(reduceDims)) / count;
  at::Tensor y = centred * (var + state.eps).rsqrt().view(shape);
  if (state.weight.defined()) y = y * state.weight.to(at::kFloat).view(shape);
  if (state.bias.defined()) y = y + state.bias.to(at::kFloat).view(shape);

  if (state.runningMean.defined()) {
    at::NoGradGuard noGrad;
    // Tensor arithmetic throughout: a .item() here would synchronise a GPU once per layer.
    if (state.numBatchesTracked.defined()) state.numBatchesTracked.add_(1);
    const double momentum = state.momentum ? *state.momentum
                                           : 1.0 / static_cast<double>(state.numBatchesTracked.item<int64_t>());
    const at::Tensor n = count.detach();
    const at::Tensor unbiased = var.detach() * n / (n - 1).clamp_min(1);
    state.runningMean.mul_(1.0 - momentum).add_(mean.detach().to(state.runningMean.dtype()), momentum);
    state.runningVar.mul_(1.0 - momentum).add_(unbiased.to(state.runningVar.dtype()), momentum);
  }
  return y.to(x.scalar_type()).contiguous(x.suggest_memory_format());
}

}  // namespace imlm::dist

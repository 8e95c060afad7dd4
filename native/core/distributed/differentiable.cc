#include "core/distributed/differentiable.h"

#include <torch/csrc/autograd/custom_function.h>

namespace imlm::dist {
namespace {

struct AllReduceSumForSharedLoss : public torch::autograd::Function<AllReduceSumForSharedLoss> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, ProcessGroup* group) {
    ctx->saved_data["world"] = group->size();
    at::Tensor sum = x.detach().contiguous().clone();
    group->allReduceSum(sum);
    return sum;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const double world = static_cast<double>(ctx->saved_data["world"].toInt());
    return {grads[0].mul(world), at::Tensor()};
  }
};

struct AllReduceSum : public torch::autograd::Function<AllReduceSum> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, ProcessGroup* group) {
    ctx->saved_data["group"] = reinterpret_cast<int64_t>(group);
    at::Tensor sum = x.detach().contiguous().clone();
    group->allReduceSum(sum);
    return sum;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    auto* group = reinterpret_cast<ProcessGroup*>(ctx->saved_data["group"].toInt());
    at::Tensor sum = grads[0].contiguous().clone();
    group->allReduceSum(sum);
    return {sum, at::Tensor()};
  }
};

}  // namespace

at::Tensor allReduceSum(ProcessGroup& group, const at::Tensor& x) { return AllReduceSum::apply(x, &group); }

at::Tensor allReduceSumForSharedLoss(ProcessGroup& group, const at::Tensor& x) {
  return AllReduceSumForSharedLoss::apply(x, &group);
}

}  // namespace imlm::dist

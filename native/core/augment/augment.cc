#include "core/augment/augment.h"

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>

#include "core/augment/cpu_fused.h"
#include "core/augment/ops.h"
#include "core/errors.h"

namespace imlm::augment {
namespace {

void checkImages(const at::Tensor& images) {
  if (images.dim() != 4 || (images.size(1) != 1 && images.size(1) != 3)) {
    throw Error(ErrorCode::kInvalidArgument, "expected images of shape [N, 1 or 3, H, W]");
  }
}

/**
 * Every random number of the batch, drawn before any pixel is touched: each op's draws in table
 * order, so the fused CPU path and the tensor path see the same parameters for the same seed.
 */
BatchDraws drawBatch(const at::Tensor& images, const AugmentPolicy& policy, at::Generator& generator) {
  BatchDraws draws;
  draws.n = images.size(0);
  draws.height = static_cast<double>(images.size(2));
  draws.width = static_cast<double>(images.size(3));
  for (const AugmentOp& op : augmentOps()) op.draw(policy, draws, generator);
  composeAffine(draws);
  return draws;
}

/** The fused CPU kernels take uint8 and float32 on the CPU; everything else takes the tensor path. */
bool takesFusedPath(const at::Tensor& images) {
  return images.device().is_cpu() && (images.scalar_type() == at::kFloat || images.scalar_type() == at::kByte);
}

/** Crop, flips and rotation as one affine grid_sample over the batch. */
at::Tensor resampleTensor(const at::Tensor& images, const AugmentPolicy& policy, const BatchDraws& draws) {
  at::Tensor source = images.scalar_type() == at::kByte ? images.to(at::kFloat).div_(255.0) : images;
  const int64_t size = policy.outputSize;
  at::Tensor grid = at::affine_grid_generator(draws.theta.to(source.options()), {draws.n, images.size(1), size, size},
                                              /*align_corners=*/false);
  return at::grid_sampler(source, grid, /*interpolation_mode=*/policy.nearest ? 1 : 0, /*padding_mode=*/0, /*align_corners=*/false);
}

/** The tensor path (GPU, other dtypes): resampling, then each op's batched kernels in table order. */
at::Tensor augmentTensor(const at::Tensor& images, const AugmentPolicy& policy, const BatchDraws& draws) {
  at::Tensor x = resampleTensor(images, policy, draws);
  for (const AugmentOp& op : augmentOps()) {
    if (op.tensorKernel) x = op.tensorKernel(x, policy, draws);
  }
  return x.clamp(0.0, 1.0);
}

}  // namespace

AugmentResult augmentBatch(const at::Tensor& images, const AugmentPolicy& policy, at::Generator& generator) {
  checkImages(images);
  const BatchDraws draws = drawBatch(images, policy, generator);
  at::Tensor out = takesFusedPath(images) ? cpu::augmentFused(images, policy, draws) : augmentTensor(images, policy, draws);
  return {out, draws.params};
}

}  // namespace imlm::augment

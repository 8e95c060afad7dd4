// The augmentation op table: each op's name, its policy fields with their ranges, the
// per-sample parameters it draws and its kernel hooks, declared once in ops.cc.
// augment.cc runs the ops in table order (the order of the random draws and of the pixel
// stages); native/bridge/augment_binding.cc reads and returns policies by walking the fields;
// augmentOps() shows the table to TypeScript, which builds its policy schema from it
// (lib/data/augment-ops.ts).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include "core/augment/augment.h"

namespace imlm::augment {

/** One policy field: a boolean, or a number in [minimum, maximum] (minimum excluded if exclusiveMinimum). */
struct PolicyField {
  const char* name;
  bool AugmentPolicy::*flag;      // a boolean field, else nullptr
  double AugmentPolicy::*number;  // a number field, else nullptr
  double minimum;                 // −∞ when unbounded
  bool exclusiveMinimum;
  double maximum;                 // +∞ when unbounded
  const char* atMost;             // the field this one may not exceed (a range's lower end), or nullptr
};

/** One per-sample parameter an op draws (float64, N), as returned by augmentBatch. */
struct ParamField {
  const char* name;
  at::Tensor AugmentParams::*tensor;
};

/** Everything drawn for one batch before any pixel is touched; the ops' hooks share it. */
struct BatchDraws {
  int64_t n = 0;
  double height = 0, width = 0;
  at::Tensor cropW, cropH, top, left;  // the crop box in input pixels (the whole image without crop)
  at::Tensor theta;                    // N×2×3 float64, output → input (affine_grid's convention)
  at::Tensor jitterOrder;              // N×4 int64: each sample's order of the four colour ops
  at::Tensor blurOn;                   // 0/1
  AugmentParams params;
};

/** One sample of a batch on the fused CPU path: its index into the draws. */
struct FusedSample {
  const BatchDraws& draws;
  int64_t index;
  /** This sample's value of a float64 per-sample tensor (contiguous, on the CPU). */
  double value(const at::Tensor& perSample) const { return perSample.data_ptr<double>()[index]; }
};

struct AugmentOp {
  const char* name;
  std::vector<PolicyField> fields;
  std::vector<ParamField> params;
  /** Draws the op's random numbers for the batch. Ops draw in table order, so a seed reproduces a batch. */
  void (*draw)(const AugmentPolicy& policy, BatchDraws& draws, at::Generator& generator);
  /**
   * The tensor path (GPU, other dtypes): N×C×S×S float images after resampling → the same
   * adjusted. nullptr for geometric ops, which the one resampling applies.
   */
  at::Tensor (*tensorKernel)(at::Tensor x, const AugmentPolicy& policy, const BatchDraws& draws);
  /**
   * The fused CPU path: one sample's C×size×size float32 image, in place, with the same
   * formulas as tensorKernel. nullptr for geometric ops. `scratch` is per thread.
   */
  void (*fusedKernel)(float* image, int64_t channels, int64_t size, const AugmentPolicy& policy, const FusedSample& sample,
                      std::vector<float>& scratch);
};

/** The ops, in the order they draw and run. */
const std::vector<AugmentOp>& augmentOps();

/** The geometric ops' draws (crop box, flips, angle) as one affine map per sample: sets draws.theta. */
void composeAffine(BatchDraws& draws);

/** What is wrong with `policy` (a field out of its range, a range whose ends are swapped), or "" when nothing is. */
std::string policyProblem(const AugmentPolicy& policy);

}  // namespace imlm::augment

// Batched two-view augmentation (docs/method.md, "Augmentation policies"): per-sample random
// parameters for the whole batch at once, then tensor ops over the batch — crop + flip +
// rotation as one affine grid_sample, colour jitter (brightness, contrast, saturation, hue, in a
// random order per sample), random grayscale, Gaussian blur as a grouped convolution. No
// per-image loop, so the same code runs on the GPU. The ops, their fields' ranges, draws and
// kernels are the table in ops.cc; a policy here holds every op's fields.
#pragma once

#include <cstdint>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

namespace imlm::augment {

/** Every op's fields (ops.cc gives each its op and its range); outputSize is the caller's. */
struct AugmentPolicy {
  int64_t outputSize = 32;
  // Random resized crop (torchvision's sampling: area share in [scaleMin, scaleMax], aspect ratio
  // log-uniform in [ratioMin, ratioMax], 10 tries, then a centre crop); off = the whole image.
  bool crop = false;
  double scaleMin = 0.08, scaleMax = 1.0;
  double ratioMin = 3.0 / 4.0, ratioMax = 4.0 / 3.0;
  double hflipP = 0.0;
  double vflipP = 0.0;
  double rotationDegrees = 0.0;  // uniform in ±degrees; corners filled with 0
  bool nearest = false;          // nearest-neighbour resampling (the paper's RandomRotation)
  double jitterP = 0.0;          // colour jitter applied with this probability
  double brightness = 0.0, contrast = 0.0, saturation = 0.0, hue = 0.0;
  double grayscaleP = 0.0;
  double blurP = 0.0;
  double blurSigmaMin = 0.1, blurSigmaMax = 2.0;
};

/** The random parameters drawn for each sample (N each), for tests and inspection; ops.cc names each one's op. */
struct AugmentParams {
  at::Tensor cropScale;   // area share of the crop (1 when crop is off)
  at::Tensor cropRatio;   // aspect ratio w/h of the crop
  at::Tensor hflip;       // 0/1
  at::Tensor vflip;       // 0/1
  at::Tensor angle;       // degrees
  at::Tensor jitter;      // 0/1: colour jitter applied
  at::Tensor brightness;  // factors (1 where not applied)
  at::Tensor contrast;
  at::Tensor saturation;
  at::Tensor hue;         // shift in [−0.5, 0.5] turns (0 where not applied)
  at::Tensor grayscale;   // 0/1
  at::Tensor blurSigma;   // 0 where not applied
};

struct AugmentResult {
  at::Tensor images;  // N×C×outputSize×outputSize float in [0, 1]
  AugmentParams params;
};

/**
 * images: N×C×H×W float in [0, 1] or uint8 in 0..255 (C = 1 or 3) on any device. Draws all random numbers from
 * `generator` (CPU) in a fixed order, so a seed reproduces the batch exactly.
 */
AugmentResult augmentBatch(const at::Tensor& images, const AugmentPolicy& policy, at::Generator& generator);

}  // namespace imlm::augment

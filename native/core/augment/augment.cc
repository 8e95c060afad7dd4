#include "core/augment/augment.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <ATen/Functions.h>
#include <ATen/Parallel.h>
#include <ATen/TensorOperators.h>

#include "core/augment/cpu_fused.h"
#include "core/errors.h"

namespace imlm::augment {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr int kCropTries = 10;  // torchvision's RandomResizedCrop.get_params

/** N uniform draws in [lo, hi) on the CPU in float64 (the generator is a CPU one). */
at::Tensor uniform(int64_t n, double lo, double hi, at::Generator& g) {
  return at::empty({n}, at::TensorOptions().dtype(at::kDouble)).uniform_(lo, hi, g);
}

at::Tensor bernoulli(int64_t n, double p, at::Generator& g) { return (uniform(n, 0.0, 1.0, g) < p).to(at::kDouble); }

/** torchvision's rgb_to_grayscale weights; one channel is its own grayscale. */
at::Tensor grayscaleOf(const at::Tensor& x) {
  if (x.size(1) == 1) return x;
  return (x.select(1, 0) * 0.2989 + x.select(1, 1) * 0.587 + x.select(1, 2) * 0.114).unsqueeze(1);
}

/** Per-sample factor f (N) broadcast over C×H×W. */
at::Tensor perSample(const at::Tensor& f, const at::Tensor& like) {
  return f.to(like.options()).view({-1, 1, 1, 1});
}

at::Tensor adjustBrightness(const at::Tensor& x, const at::Tensor& f) { return (x * perSample(f, x)).clamp(0.0, 1.0); }

at::Tensor adjustContrast(const at::Tensor& x, const at::Tensor& f) {
  at::Tensor mean = grayscaleOf(x).mean({1, 2, 3}, /*keepdim=*/true);
  at::Tensor k = perSample(f, x);
  return (x * k + mean * (1 - k)).clamp(0.0, 1.0);
}

at::Tensor adjustSaturation(const at::Tensor& x, const at::Tensor& f) {
  if (x.size(1) == 1) return x;
  at::Tensor k = perSample(f, x);
  return (x * k + grayscaleOf(x) * (1 - k)).clamp(0.0, 1.0);
}

/** torchvision's _rgb2hsv / _hsv2rgb, batched; `shift` in turns per sample. */
at::Tensor adjustHue(const at::Tensor& x, const at::Tensor& shift) {
  if (x.size(1) == 1) return x;
  at::Tensor r = x.select(1, 0), g = x.select(1, 1), b = x.select(1, 2);
  // Element-wise max/min of the three planes: a reduction over a 3-long strided dim is slow on the CPU.
  at::Tensor maxc = at::maximum(at::maximum(r, g), b);
  at::Tensor minc = at::minimum(at::minimum(r, g), b);
  at::Tensor equal = maxc.eq(minc);
  at::Tensor cr = maxc - minc;
  at::Tensor ones = at::ones_like(maxc);
  at::Tensor s = cr / at::where(equal, ones, maxc);
  at::Tensor crDivisor = at::where(equal, ones, cr);
  at::Tensor rc = (maxc - r) / crDivisor, gc = (maxc - g) / crDivisor, bc = (maxc - b) / crDivisor;
  at::Tensor hr = maxc.eq(r) * (bc - gc);
  at::Tensor hg = (maxc.eq(g) & maxc.ne(r)) * (2.0 + rc - bc);
  at::Tensor hb = (maxc.ne(g) & maxc.ne(r)) * (4.0 + gc - rc);
  at::Tensor h = at::fmod((hr + hg + hb) / 6.0 + 1.0, 1.0);
  h = at::fmod(h + shift.to(x.options()).view({-1, 1, 1}) + 1.0, 1.0);
  // HSV → RGB without branches: channel n = v − v·s·clamp(min(k, 4 − k), 0, 1), k = (n + 6h) mod 6
  // (n = 5, 3, 1 for r, g, b) — the same values as torchvision's six-case table, with far fewer
  // full-size temporaries.
  at::Tensor h6 = h * 6.0;
  at::Tensor vs = maxc * s;
  auto channel = [&](double offset) {
    at::Tensor k = at::fmod(h6 + offset, 6.0);
    return maxc - vs * at::minimum(k, 4.0 - k).clamp(0.0, 1.0);
  };
  return at::stack({channel(5.0), channel(3.0), channel(1.0)}, 1);
}

/** Separable Gaussian blur with per-sample sigma (0 = identity), reflect padding, grouped conv. */
at::Tensor gaussianBlur(const at::Tensor& x, const at::Tensor& sigma, int64_t radius) {
  const int64_t n = x.size(0), c = x.size(1);
  const int64_t k = 2 * radius + 1;
  at::Tensor offsets = at::arange(-radius, radius + 1, at::TensorOptions().dtype(at::kDouble)).view({1, k});
  at::Tensor s = sigma.view({n, 1});
  at::Tensor weights = at::exp(-(offsets * offsets) / (2.0 * (s * s).clamp_min(1e-12)));
  // sigma 0: a delta, so those samples pass through unchanged.
  at::Tensor delta = offsets.eq(0).to(at::kDouble).expand({n, k});
  weights = at::where(s.gt(0), weights, delta);
  weights = weights / weights.sum(1, true);
  at::Tensor w = weights.to(x.options()).repeat_interleave(c, 0);  // (N·C)×k
  at::Tensor flat = x.reshape({1, n * c, x.size(2), x.size(3)});
  const int64_t pad = std::min<int64_t>(radius, std::min(x.size(2), x.size(3)) - 1);
  at::Tensor wH = w.view({n * c, 1, 1, k});
  at::Tensor wV = w.view({n * c, 1, k, 1});
  if (pad < radius) {  // images smaller than the kernel: crop the kernel to what reflect allows
    wH = wH.narrow(3, radius - pad, 2 * pad + 1);
    wV = wV.narrow(2, radius - pad, 2 * pad + 1);
    wH = wH / wH.sum(3, true);
    wV = wV / wV.sum(2, true);
  }
  const std::vector<int64_t> one{1, 1}, zero{0, 0};
  const at::IntArrayRef kOne(one), kZero(zero);  // stride/dilation 1, padding 0 (done by reflection_pad2d)
  at::Tensor out = at::reflection_pad2d(flat, {pad, pad, 0, 0});
  out = at::conv2d(out, wH, /*bias=*/at::Tensor(), kOne, kZero, kOne, /*groups=*/n * c);
  out = at::reflection_pad2d(out, {0, 0, pad, pad});
  out = at::conv2d(out, wV, /*bias=*/at::Tensor(), kOne, kZero, kOne, /*groups=*/n * c);
  return out.view_as(x);
}

}  // namespace

AugmentResult augmentBatch(const at::Tensor& images, const AugmentPolicy& policy, at::Generator& generator) {
  if (images.dim() != 4 || (images.size(1) != 1 && images.size(1) != 3)) {
    throw Error(ErrorCode::kInvalidArgument, "expected images of shape [N, 1 or 3, H, W]");
  }
  const int64_t n = images.size(0);
  const double height = static_cast<double>(images.size(2));
  const double width = static_cast<double>(images.size(3));
  AugmentParams p;
  const auto f64 = at::TensorOptions().dtype(at::kDouble);

  // --- geometry: one affine map per sample -------------------------------------------------
  at::Tensor cropW = at::full({n}, width, f64), cropH = at::full({n}, height, f64);
  at::Tensor top = at::zeros({n}, f64), left = at::zeros({n}, f64);
  if (policy.crop) {
    const double area = height * width;
    at::Tensor targetArea = at::empty({n, kCropTries}, f64).uniform_(policy.scaleMin, policy.scaleMax, generator) * area;
    at::Tensor logRatio = at::empty({n, kCropTries}, f64).uniform_(std::log(policy.ratioMin), std::log(policy.ratioMax), generator);
    at::Tensor ratio = at::exp(logRatio);
    at::Tensor w = at::round(at::sqrt(targetArea * ratio));
    at::Tensor h = at::round(at::sqrt(targetArea / ratio));
    at::Tensor valid = w.gt(0) & w.le(width) & h.gt(0) & h.le(height);
    // The first valid try, as the sequential loop would take; else a centre crop.
    at::Tensor first = (valid.to(at::kLong) * at::arange(kCropTries, 0, -1, at::TensorOptions().dtype(at::kLong))).argmax(1);
    at::Tensor any = valid.any(1);
    at::Tensor wPick = w.gather(1, first.unsqueeze(1)).squeeze(1);
    at::Tensor hPick = h.gather(1, first.unsqueeze(1)).squeeze(1);
    const double inRatio = width / height;
    double fw = width, fh = height;
    if (inRatio < policy.ratioMin) fh = std::round(fw / policy.ratioMin);
    else if (inRatio > policy.ratioMax) fw = std::round(fh * policy.ratioMax);
    cropW = at::where(any, wPick, at::full({n}, fw, f64));
    cropH = at::where(any, hPick, at::full({n}, fh, f64));
    at::Tensor u = uniform(n, 0.0, 1.0, generator), v = uniform(n, 0.0, 1.0, generator);
    top = at::where(any, at::floor(u * (height - cropH + 1)), at::full({n}, std::floor((height - fh) / 2), f64));
    left = at::where(any, at::floor(v * (width - cropW + 1)), at::full({n}, std::floor((width - fw) / 2), f64));
  }
  p.cropScale = cropW * cropH / (height * width);
  p.cropRatio = cropW / cropH;
  p.hflip = bernoulli(n, policy.hflipP, generator);
  p.vflip = bernoulli(n, policy.vflipP, generator);
  p.angle = policy.rotationDegrees > 0 ? uniform(n, -policy.rotationDegrees, policy.rotationDegrees, generator)
                                       : at::zeros({n}, f64);
  // output (x, y) ∈ [−1, 1]² → input: centre + S·R·F·(x, y) (normalised, align_corners=false)
  at::Tensor cx = (left + cropW / 2) / width * 2 - 1;
  at::Tensor cy = (top + cropH / 2) / height * 2 - 1;
  at::Tensor sx = cropW / width, sy = cropH / height;
  at::Tensor fx = 1 - 2 * p.hflip, fy = 1 - 2 * p.vflip;
  at::Tensor rad = p.angle * (kPi / 180.0);
  at::Tensor cosA = at::cos(rad), sinA = at::sin(rad);
  at::Tensor theta = at::stack({at::stack({sx * cosA * fx, -sx * sinA * fy, cx}, 1),
                                at::stack({sy * sinA * fx, sy * cosA * fy, cy}, 1)},
                               1);
  // Every random number is drawn before any pixel is touched, in a fixed order, so the CPU
  // and tensor paths below see the same parameters for the same seed.
  p.jitter = bernoulli(n, policy.jitterP, generator);
  const at::Tensor applied = p.jitter.gt(0);
  auto factor = [&](double amount) {
    at::Tensor f = uniform(n, std::max(0.0, 1.0 - amount), 1.0 + amount, generator);
    return at::where(applied, f, at::ones({n}, f64));
  };
  p.brightness = factor(policy.brightness);
  p.contrast = factor(policy.contrast);
  p.saturation = factor(policy.saturation);
  p.hue = at::where(applied, uniform(n, -policy.hue, policy.hue, generator), at::zeros({n}, f64));
  at::Tensor order = at::empty({n, 4}, f64).uniform_(0.0, 1.0, generator).argsort(/*dim=*/static_cast<int64_t>(1));  // a random permutation per sample
  p.grayscale = bernoulli(n, policy.grayscaleP, generator);
  at::Tensor blurOn = bernoulli(n, policy.blurP, generator);
  at::Tensor sigma = uniform(n, policy.blurSigmaMin, policy.blurSigmaMax, generator);
  p.blurSigma = at::where(blurOn.gt(0), sigma, at::zeros({n}, f64));
  // One kernel width per policy (torchvision's GaussianBlur has a fixed kernel size too), so a
  // sample's result does not depend on the other samples of its batch.
  const int64_t blurRadius = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(3.0 * policy.blurSigmaMax)));
  const int64_t size = policy.outputSize;

  if (images.device().is_cpu() && (images.scalar_type() == at::kFloat || images.scalar_type() == at::kByte)) {
    return {cpu::augmentFused(images, theta, size, policy.nearest, order, p, blurRadius), p};
  }

  // --- the tensor path (GPU, other dtypes): a few batched kernels per op ---------------------
  at::Tensor source = images.scalar_type() == at::kByte ? images.to(at::kFloat).div_(255.0) : images;
  at::Tensor grid = at::affine_grid_generator(theta.to(source.options()), {n, images.size(1), size, size}, /*align_corners=*/false);
  at::Tensor x = at::grid_sampler(source, grid, /*interpolation_mode=*/policy.nearest ? 1 : 0, /*padding_mode=*/0,
                                  /*align_corners=*/false);
  if (policy.jitterP > 0) {
    // At each position, each op runs only on the samples whose turn it is (gathered, adjusted,
    // scattered back): every sample sees each of its four ops exactly once.
    x = x.contiguous();
    for (int64_t position = 0; position < 4; ++position) {
      at::Tensor op = order.select(1, position);
      for (int64_t which = 0; which < 4; ++which) {
        at::Tensor rows = (applied & op.eq(which)).nonzero().view({-1});
        if (rows.numel() == 0) continue;
        if ((which == 2 || which == 3) && x.size(1) == 1) continue;  // saturation and hue: no-ops on gray
        at::Tensor index = rows.to(x.device());
        at::Tensor part = x.index_select(0, index);
        if (which == 0) part = adjustBrightness(part, p.brightness.index_select(0, rows));
        if (which == 1) part = adjustContrast(part, p.contrast.index_select(0, rows));
        if (which == 2) part = adjustSaturation(part, p.saturation.index_select(0, rows));
        if (which == 3) {
          if (policy.hue <= 0) continue;
          part = adjustHue(part, p.hue.index_select(0, rows));
        }
        x.index_copy_(0, index, part);
      }
    }
  }
  if (policy.grayscaleP > 0 && x.size(1) == 3) {
    at::Tensor gray = grayscaleOf(x).expand_as(x);
    x = at::where(p.grayscale.gt(0).to(x.device()).view({-1, 1, 1, 1}), gray, x);
  }
  if (policy.blurP > 0) {
    // Only the samples drawn for blurring.
    at::Tensor rows = blurOn.gt(0).nonzero().view({-1});
    if (rows.numel() > 0) {
      at::Tensor index = rows.to(x.device());
      x = x.contiguous();
      x.index_copy_(0, index, gaussianBlur(x.index_select(0, index), p.blurSigma.index_select(0, rows), blurRadius));
    }
  }
  return {x.clamp(0.0, 1.0), p};
}

}  // namespace imlm::augment

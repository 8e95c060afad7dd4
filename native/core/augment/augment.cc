#include "core/augment/augment.h"

#include <cmath>
#include <vector>

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>

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
  at::Tensor maxc = std::get<0>(x.max(1));
  at::Tensor minc = std::get<0>(x.min(1));
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
  at::Tensor v = maxc;
  at::Tensor i = at::floor(h * 6.0);
  at::Tensor f = h * 6.0 - i;
  i = i.to(at::kInt).remainder(6);
  at::Tensor p = (v * (1.0 - s)).clamp(0.0, 1.0);
  at::Tensor q = (v * (1.0 - s * f)).clamp(0.0, 1.0);
  at::Tensor t = (v * (1.0 - s * (1.0 - f))).clamp(0.0, 1.0);
  at::Tensor mask = i.unsqueeze(1).eq(at::arange(6, i.options()).view({1, -1, 1, 1})).to(x.dtype());  // N×6×H×W
  at::Tensor a1 = at::stack({v, q, p, p, t, v}, 1);
  at::Tensor a2 = at::stack({t, v, v, q, p, p}, 1);
  at::Tensor a3 = at::stack({p, p, t, v, v, q}, 1);
  return at::stack({(mask * a1).sum(1), (mask * a2).sum(1), (mask * a3).sum(1)}, 1);
}

/** Separable Gaussian blur with per-sample sigma (0 = identity), reflect padding, grouped conv. */
at::Tensor gaussianBlur(const at::Tensor& x, const at::Tensor& sigma, double sigmaMax) {
  const int64_t n = x.size(0), c = x.size(1);
  const int64_t radius = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(3.0 * sigmaMax)));
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
                               1)
                         .to(images.options());
  const int64_t size = policy.outputSize;
  at::Tensor grid = at::affine_grid_generator(theta, {n, images.size(1), size, size}, /*align_corners=*/false);
  at::Tensor x = at::grid_sampler(images, grid, /*interpolation_mode=*/policy.nearest ? 1 : 0, /*padding_mode=*/0,
                                  /*align_corners=*/false);

  // --- colour jitter, in a random order per sample ------------------------------------------
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
  if (policy.jitterP > 0) {
    for (int64_t position = 0; position < 4; ++position) {
      at::Tensor op = order.select(1, position);
      // Every op runs on the whole batch with identity factors where it is not this sample's turn.
      x = adjustBrightness(x, at::where(op.eq(0), p.brightness, at::ones({n}, f64)));
      x = adjustContrast(x, at::where(op.eq(1), p.contrast, at::ones({n}, f64)));
      x = adjustSaturation(x, at::where(op.eq(2), p.saturation, at::ones({n}, f64)));
      if (policy.hue > 0) {
        at::Tensor turn = (op.eq(3) & applied).to(x.device());
        at::Tensor shifted = adjustHue(x, p.hue);
        x = at::where(turn.view({-1, 1, 1, 1}), shifted, x);
      }
    }
  }

  // --- grayscale, blur --------------------------------------------------------------------------
  p.grayscale = bernoulli(n, policy.grayscaleP, generator);
  if (policy.grayscaleP > 0 && x.size(1) == 3) {
    at::Tensor gray = grayscaleOf(x).expand_as(x);
    x = at::where(p.grayscale.gt(0).to(x.device()).view({-1, 1, 1, 1}), gray, x);
  }
  at::Tensor blurOn = bernoulli(n, policy.blurP, generator);
  at::Tensor sigma = uniform(n, policy.blurSigmaMin, policy.blurSigmaMax, generator);
  p.blurSigma = at::where(blurOn.gt(0), sigma, at::zeros({n}, f64));
  if (policy.blurP > 0) x = gaussianBlur(x, p.blurSigma, policy.blurSigmaMax);
  return {x.clamp(0.0, 1.0), p};
}

}  // namespace imlm::augment

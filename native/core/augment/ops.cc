// The augmentation ops (ops.h): for each, its policy fields and ranges, its draws, its tensor
// kernel (GPU, other dtypes) and its fused CPU kernel. The two kernels of an op use the same
// formulas (torchvision's) and parameters; test/data/augment.test.ts compares them.
#include "core/augment/ops.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include <ATen/Functions.h>
#include <ATen/TensorOperators.h>

namespace imlm::augment {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kPi = 3.14159265358979323846;
constexpr int kCropTries = 10;  // torchvision's RandomResizedCrop.get_params

const auto kF64 = at::TensorOptions().dtype(at::kDouble);

// --- fields -------------------------------------------------------------------------------

PolicyField flag(const char* name, bool AugmentPolicy::*member) { return {name, member, nullptr, -kInf, false, kInf, nullptr}; }

PolicyField number(const char* name, double AugmentPolicy::*member, double minimum, double maximum, bool exclusiveMinimum = false,
                   const char* atMost = nullptr) {
  return {name, nullptr, member, minimum, exclusiveMinimum, maximum, atMost};
}

PolicyField probability(const char* name, double AugmentPolicy::*member) { return number(name, member, 0.0, 1.0); }

/** A number > 0, optionally the lower end of a range ending at `atMost`. */
PolicyField positive(const char* name, double AugmentPolicy::*member, double maximum = kInf, const char* atMost = nullptr) {
  return number(name, member, 0.0, maximum, /*exclusiveMinimum=*/true, atMost);
}

// --- draws: every random number, in table order --------------------------------------------

/** N uniform draws in [lo, hi) on the CPU in float64 (the generator is a CPU one). */
at::Tensor uniform(int64_t n, double lo, double hi, at::Generator& g) { return at::empty({n}, kF64).uniform_(lo, hi, g); }

at::Tensor bernoulli(int64_t n, double p, at::Generator& g) { return (uniform(n, 0.0, 1.0, g) < p).to(at::kDouble); }

/**
 * Random resized crop with torchvision's sampling: area share in [scaleMin, scaleMax], aspect
 * ratio log-uniform in [ratioMin, ratioMax], 10 tries, then a centre crop; off = the whole image.
 */
void drawCrop(const AugmentPolicy& policy, BatchDraws& d, at::Generator& generator) {
  const int64_t n = d.n;
  const double height = d.height, width = d.width;
  d.cropW = at::full({n}, width, kF64);
  d.cropH = at::full({n}, height, kF64);
  d.top = at::zeros({n}, kF64);
  d.left = at::zeros({n}, kF64);
  if (policy.crop) {
    const double area = height * width;
    at::Tensor targetArea = at::empty({n, kCropTries}, kF64).uniform_(policy.scaleMin, policy.scaleMax, generator) * area;
    at::Tensor logRatio = at::empty({n, kCropTries}, kF64).uniform_(std::log(policy.ratioMin), std::log(policy.ratioMax), generator);
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
    d.cropW = at::where(any, wPick, at::full({n}, fw, kF64));
    d.cropH = at::where(any, hPick, at::full({n}, fh, kF64));
    at::Tensor u = uniform(n, 0.0, 1.0, generator), v = uniform(n, 0.0, 1.0, generator);
    d.top = at::where(any, at::floor(u * (height - d.cropH + 1)), at::full({n}, std::floor((height - fh) / 2), kF64));
    d.left = at::where(any, at::floor(v * (width - d.cropW + 1)), at::full({n}, std::floor((width - fw) / 2), kF64));
  }
  d.params.cropScale = d.cropW * d.cropH / (height * width);
  d.params.cropRatio = d.cropW / d.cropH;
}

void drawHflip(const AugmentPolicy& policy, BatchDraws& d, at::Generator& g) { d.params.hflip = bernoulli(d.n, policy.hflipP, g); }

void drawVflip(const AugmentPolicy& policy, BatchDraws& d, at::Generator& g) { d.params.vflip = bernoulli(d.n, policy.vflipP, g); }

/** Uniform in ±rotationDegrees; corners filled with 0. */
void drawRotation(const AugmentPolicy& policy, BatchDraws& d, at::Generator& g) {
  d.params.angle = policy.rotationDegrees > 0 ? uniform(d.n, -policy.rotationDegrees, policy.rotationDegrees, g) : at::zeros({d.n}, kF64);
}

/** Colour jitter with probability jitterP: four factors per sample and a random order of the four ops. */
void drawJitter(const AugmentPolicy& policy, BatchDraws& d, at::Generator& g) {
  const int64_t n = d.n;
  AugmentParams& p = d.params;
  p.jitter = bernoulli(n, policy.jitterP, g);
  const at::Tensor applied = p.jitter.gt(0);
  auto factor = [&](double amount) {
    at::Tensor f = uniform(n, std::max(0.0, 1.0 - amount), 1.0 + amount, g);
    return at::where(applied, f, at::ones({n}, kF64));
  };
  p.brightness = factor(policy.brightness);
  p.contrast = factor(policy.contrast);
  p.saturation = factor(policy.saturation);
  p.hue = at::where(applied, uniform(n, -policy.hue, policy.hue, g), at::zeros({n}, kF64));
  // A random permutation per sample.
  d.jitterOrder = at::empty({n, 4}, kF64).uniform_(0.0, 1.0, g).argsort(/*dim=*/static_cast<int64_t>(1)).contiguous();
}

void drawGrayscale(const AugmentPolicy& policy, BatchDraws& d, at::Generator& g) {
  d.params.grayscale = bernoulli(d.n, policy.grayscaleP, g);
}

void drawBlur(const AugmentPolicy& policy, BatchDraws& d, at::Generator& g) {
  d.blurOn = bernoulli(d.n, policy.blurP, g);
  at::Tensor sigma = uniform(d.n, policy.blurSigmaMin, policy.blurSigmaMax, g);
  d.params.blurSigma = at::where(d.blurOn.gt(0), sigma, at::zeros({d.n}, kF64));
}

// --- colour: the tensor path ----------------------------------------------------------------

/** torchvision's rgb_to_grayscale weights; one channel is its own grayscale. */
at::Tensor grayscaleOf(const at::Tensor& x) {
  if (x.size(1) == 1) return x;
  return (x.select(1, 0) * 0.2989 + x.select(1, 1) * 0.587 + x.select(1, 2) * 0.114).unsqueeze(1);
}

/** Per-sample factor f (N) broadcast over C×H×W. */
at::Tensor perSample(const at::Tensor& f, const at::Tensor& like) { return f.to(like.options()).view({-1, 1, 1, 1}); }

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

at::Tensor jitterTensor(at::Tensor x, const AugmentPolicy& policy, const BatchDraws& d) {
  if (policy.jitterP <= 0) return x;
  const AugmentParams& p = d.params;
  const at::Tensor applied = p.jitter.gt(0);
  // At each position, each op runs only on the samples whose turn it is (gathered, adjusted,
  // scattered back): every sample sees each of its four ops exactly once.
  x = x.contiguous();
  for (int64_t position = 0; position < 4; ++position) {
    at::Tensor op = d.jitterOrder.select(1, position);
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
  return x;
}

at::Tensor grayscaleTensor(at::Tensor x, const AugmentPolicy& policy, const BatchDraws& d) {
  if (policy.grayscaleP <= 0 || x.size(1) != 3) return x;
  at::Tensor gray = grayscaleOf(x).expand_as(x);
  return at::where(d.params.grayscale.gt(0).to(x.device()).view({-1, 1, 1, 1}), gray, x);
}

// --- colour: the fused CPU path -------------------------------------------------------------

inline float clamp01(float v) { return std::min(std::max(v, 0.0f), 1.0f); }

/** torchvision's adjust_hue on one RGB image (planes r, g, b), branch-free so it vectorises. */
void hueShift(float* r, float* g, float* b, int64_t plane, float shift) {
  for (int64_t k = 0; k < plane; ++k) {
    const float red = r[k], green = g[k], blue = b[k];
    const float maxc = std::max(std::max(red, green), blue);
    const float minc = std::min(std::min(red, green), blue);
    const float cr = maxc - minc;
    // Where max = min (gray), torchvision divides by 1 instead: cr is 0 there, so adding 1 is
    // the same, and unconditional arithmetic keeps the loop vectorisable.
    const float flat = maxc == minc ? 1.0f : 0.0f;
    const float s = cr / (maxc + flat);
    const float inv = 1.0f / (cr + flat);
    const float rc = (maxc - red) * inv, gc = (maxc - green) * inv, bc = (maxc - blue) * inv;
    const float hR = bc - gc, hG = 2.0f + rc - bc, hB = 4.0f + gc - rc;
    const float hh = maxc == red ? hR : (maxc == green ? hG : hB);
    // h = fmod(hh/6 + 1, 1), then fmod(h + shift + 1, 1); the arguments are ≥ 0 and < 3 here,
    // so truncation is the floor (and, unlike std::floor without SSE4.1, vectorises).
    float hv = hh / 6.0f + 1.0f;
    hv -= static_cast<float>(static_cast<int>(hv));
    hv = hv + shift + 1.0f;
    hv -= static_cast<float>(static_cast<int>(hv));
    const float h6 = hv * 6.0f, vs = maxc * s;
    float kr = h6 + 5.0f, kg = h6 + 3.0f, kb = h6 + 1.0f;  // (n + 6h) mod 6, n = 5, 3, 1
    kr = kr >= 6.0f ? kr - 6.0f : kr;
    kg = kg >= 6.0f ? kg - 6.0f : kg;
    kb = kb >= 6.0f ? kb - 6.0f : kb;
    r[k] = maxc - vs * std::min(std::max(std::min(kr, 4.0f - kr), 0.0f), 1.0f);
    g[k] = maxc - vs * std::min(std::max(std::min(kg, 4.0f - kg), 0.0f), 1.0f);
    b[k] = maxc - vs * std::min(std::max(std::min(kb, 4.0f - kb), 0.0f), 1.0f);
  }
}

/** Colour jitter (torchvision's formulas) in the sample's own order, in place. */
void jitterFused(float* img, int64_t channels, int64_t size, const AugmentPolicy&, const FusedSample& s, std::vector<float>&) {
  const AugmentParams& p = s.draws.params;
  if (!(s.value(p.jitter) > 0)) return;
  const int64_t plane = size * size;
  float* r = img;
  float* g = channels == 3 ? img + plane : img;
  float* b = channels == 3 ? img + 2 * plane : img;
  const int64_t count = channels * plane;
  const int64_t* order = s.draws.jitterOrder.data_ptr<int64_t>() + s.index * 4;
  for (int position = 0; position < 4; ++position) {
    const int64_t op = order[position];
    if (op == 0) {
      const float f = static_cast<float>(s.value(p.brightness));
      for (int64_t k = 0; k < count; ++k) img[k] = clamp01(img[k] * f);
    } else if (op == 1) {
      double sum = 0;
      if (channels == 3) {
        for (int64_t k = 0; k < plane; ++k) sum += 0.2989f * r[k] + 0.587f * g[k] + 0.114f * b[k];
      } else {
        for (int64_t k = 0; k < plane; ++k) sum += r[k];
      }
      const float mean = static_cast<float>(sum / static_cast<double>(plane));
      const float c = static_cast<float>(s.value(p.contrast)), offset = mean * (1.0f - c);
      for (int64_t k = 0; k < count; ++k) img[k] = clamp01(img[k] * c + offset);
    } else if (op == 2 && channels == 3) {
      const float f = static_cast<float>(s.value(p.saturation)), rest = 1.0f - f;
      for (int64_t k = 0; k < plane; ++k) {
        const float gray = (0.2989f * r[k] + 0.587f * g[k] + 0.114f * b[k]) * rest;
        r[k] = clamp01(r[k] * f + gray);
        g[k] = clamp01(g[k] * f + gray);
        b[k] = clamp01(b[k] * f + gray);
      }
    } else if (op == 3 && channels == 3) {
      const float hue = static_cast<float>(s.value(p.hue));
      if (hue != 0.0f) hueShift(r, g, b, plane, hue);
    }
  }
}

void grayscaleFused(float* img, int64_t channels, int64_t size, const AugmentPolicy&, const FusedSample& s, std::vector<float>&) {
  if (!(s.value(s.draws.params.grayscale) > 0) || channels != 3) return;
  const int64_t plane = size * size;
  float *r = img, *g = img + plane, *b = img + 2 * plane;
  for (int64_t k = 0; k < plane; ++k) r[k] = g[k] = b[k] = 0.2989f * r[k] + 0.587f * g[k] + 0.114f * b[k];
}

// --- blur -----------------------------------------------------------------------------------

/**
 * One kernel width per policy (torchvision's GaussianBlur has a fixed kernel size too), so a
 * sample's result does not depend on the other samples of its batch.
 */
int64_t blurRadius(const AugmentPolicy& policy) {
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(3.0 * policy.blurSigmaMax)));
}

/** Separable Gaussian blur with per-sample sigma (0 = identity), reflect padding, grouped conv. */
at::Tensor gaussianBlur(const at::Tensor& x, const at::Tensor& sigma, int64_t radius) {
  const int64_t n = x.size(0), c = x.size(1);
  const int64_t k = 2 * radius + 1;
  at::Tensor offsets = at::arange(-radius, radius + 1, kF64).view({1, k});
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

at::Tensor blurTensor(at::Tensor x, const AugmentPolicy& policy, const BatchDraws& d) {
  if (policy.blurP <= 0) return x;
  // Only the samples drawn for blurring.
  at::Tensor rows = d.blurOn.gt(0).nonzero().view({-1});
  if (rows.numel() == 0) return x;
  at::Tensor index = rows.to(x.device());
  x = x.contiguous();
  x.index_copy_(0, index, gaussianBlur(x.index_select(0, index), d.params.blurSigma.index_select(0, rows), blurRadius(policy)));
  return x;
}

/** Index of a reflected position (no edge repeat), for |overshoot| < n. */
inline int64_t reflect(int64_t i, int64_t n) { return i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i); }

/**
 * Separable Gaussian blur of each plane with reflect padding, as the tensor path's two grouped
 * convolutions: weights exp(−d²/2σ²) for d in [−radius, radius], normalised; where the image is
 * smaller than the kernel, the kernel is cut to what reflection allows and renormalised.
 */
void blurFused(float* img, int64_t channels, int64_t size, const AugmentPolicy& policy, const FusedSample& s,
               std::vector<float>& scratch) {
  const double sigma = s.value(s.draws.params.blurSigma);
  if (!(sigma > 0)) return;
  const int64_t height = size, width = size;
  const int64_t pad = std::min<int64_t>(blurRadius(policy), std::min(height, width) - 1);
  std::vector<float> weights(static_cast<size_t>(2 * pad + 1));
  double total = 0;
  for (int64_t d = -pad; d <= pad; ++d) total += std::exp(-static_cast<double>(d * d) / (2.0 * sigma * sigma));
  for (int64_t d = -pad; d <= pad; ++d) {
    weights[static_cast<size_t>(d + pad)] = static_cast<float>(std::exp(-static_cast<double>(d * d) / (2.0 * sigma * sigma)) / total);
  }
  const int64_t plane = height * width;
  scratch.resize(static_cast<size_t>(plane + width + 2 * pad));
  float* tmp = scratch.data();
  float* row = tmp + plane;  // one padded row
  for (int64_t c = 0; c < channels; ++c) {
    float* p = img + c * plane;
    for (int64_t y = 0; y < height; ++y) {
      const float* in = p + y * width;
      for (int64_t x = -pad; x < width + pad; ++x) row[x + pad] = in[reflect(x, width)];
      float* out = tmp + y * width;
      for (int64_t x = 0; x < width; ++x) out[x] = 0.0f;
      for (int64_t k = 0; k <= 2 * pad; ++k) {
        const float wk = weights[static_cast<size_t>(k)];
        const float* src = row + k;
        for (int64_t x = 0; x < width; ++x) out[x] += wk * src[x];
      }
    }
    for (int64_t y = 0; y < height; ++y) {
      float* out = p + y * width;
      for (int64_t x = 0; x < width; ++x) out[x] = 0.0f;
      for (int64_t k = 0; k <= 2 * pad; ++k) {
        const float wk = weights[static_cast<size_t>(k)];
        const float* src = tmp + reflect(y + k - pad, height) * width;
        for (int64_t x = 0; x < width; ++x) out[x] += wk * src[x];
      }
    }
  }
}

// --- checks ---------------------------------------------------------------------------------

std::string text(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

const PolicyField* findField(const char* name) {
  for (const AugmentOp& op : augmentOps()) {
    for (const PolicyField& f : op.fields) {
      if (std::string(f.name) == name) return &f;
    }
  }
  return nullptr;
}

std::string rangeText(const PolicyField& f) {
  std::string lower = std::isfinite(f.minimum) ? (f.exclusiveMinimum ? "> " : ">= ") + text(f.minimum) : "";
  std::string upper = std::isfinite(f.maximum) ? "<= " + text(f.maximum) : "";
  return lower.empty() || upper.empty() ? lower + upper : lower + " and " + upper;
}

}  // namespace

const std::vector<AugmentOp>& augmentOps() {
  using P = AugmentPolicy;
  using R = AugmentParams;
  static const std::vector<AugmentOp> ops{
      {"crop",
       {flag("crop", &P::crop), positive("scaleMin", &P::scaleMin, 1.0, "scaleMax"), positive("scaleMax", &P::scaleMax, 1.0),
        positive("ratioMin", &P::ratioMin, kInf, "ratioMax"), positive("ratioMax", &P::ratioMax)},
       {{"cropScale", &R::cropScale}, {"cropRatio", &R::cropRatio}},
       drawCrop, nullptr, nullptr},
      {"hflip", {probability("hflipP", &P::hflipP)}, {{"hflip", &R::hflip}}, drawHflip, nullptr, nullptr},
      {"vflip", {probability("vflipP", &P::vflipP)}, {{"vflip", &R::vflip}}, drawVflip, nullptr, nullptr},
      {"rotation",
       {number("rotationDegrees", &P::rotationDegrees, 0.0, 180.0), flag("nearest", &P::nearest)},
       {{"angle", &R::angle}},
       drawRotation, nullptr, nullptr},
      {"jitter",
       {probability("jitterP", &P::jitterP), number("brightness", &P::brightness, 0.0, kInf), number("contrast", &P::contrast, 0.0, kInf),
        number("saturation", &P::saturation, 0.0, kInf), number("hue", &P::hue, 0.0, 0.5)},
       {{"jitter", &R::jitter}, {"brightness", &R::brightness}, {"contrast", &R::contrast}, {"saturation", &R::saturation}, {"hue", &R::hue}},
       drawJitter, jitterTensor, jitterFused},
      {"grayscale", {probability("grayscaleP", &P::grayscaleP)}, {{"grayscale", &R::grayscale}}, drawGrayscale, grayscaleTensor, grayscaleFused},
      {"blur",
       {probability("blurP", &P::blurP), positive("blurSigmaMin", &P::blurSigmaMin, kInf, "blurSigmaMax"), positive("blurSigmaMax", &P::blurSigmaMax)},
       {{"blurSigma", &R::blurSigma}},
       drawBlur, blurTensor, blurFused},
  };
  return ops;
}

void composeAffine(BatchDraws& d) {
  const AugmentParams& p = d.params;
  // output (x, y) ∈ [−1, 1]² → input: centre + S·R·F·(x, y) (normalised, align_corners=false)
  at::Tensor cx = (d.left + d.cropW / 2) / d.width * 2 - 1;
  at::Tensor cy = (d.top + d.cropH / 2) / d.height * 2 - 1;
  at::Tensor sx = d.cropW / d.width, sy = d.cropH / d.height;
  at::Tensor fx = 1 - 2 * p.hflip, fy = 1 - 2 * p.vflip;
  at::Tensor rad = p.angle * (kPi / 180.0);
  at::Tensor cosA = at::cos(rad), sinA = at::sin(rad);
  d.theta = at::stack({at::stack({sx * cosA * fx, -sx * sinA * fy, cx}, 1), at::stack({sy * sinA * fx, sy * cosA * fy, cy}, 1)}, 1);
}

std::string policyProblem(const AugmentPolicy& policy) {
  for (const AugmentOp& op : augmentOps()) {
    for (const PolicyField& f : op.fields) {
      if (f.number == nullptr) continue;
      const double v = policy.*f.number;
      const bool aboveMinimum = f.exclusiveMinimum ? v > f.minimum : v >= f.minimum;
      if (!aboveMinimum || !(v <= f.maximum)) {
        return "expected policy." + std::string(f.name) + " to be a number " + rangeText(f) + " but received " + text(v);
      }
      const PolicyField* upper = f.atMost ? findField(f.atMost) : nullptr;
      if (upper && v > policy.*upper->number) {
        return "expected policy." + std::string(f.name) + " <= policy." + upper->name + " but received " + text(v) + " > " +
               text(policy.*upper->number);
      }
    }
  }
  return "";
}

}  // namespace imlm::augment

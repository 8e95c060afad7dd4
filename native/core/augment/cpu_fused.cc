#include "core/augment/cpu_fused.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <ATen/Functions.h>
#include <ATen/Parallel.h>

namespace imlm::augment::cpu {
namespace {

inline float clamp01(float v) { return std::min(std::max(v, 0.0f), 1.0f); }

/** The per-sample parameters as plain numbers (read once; the kernels below are per sample). */
struct Sample {
  float theta[6];
  bool jitter;
  int64_t order[4];
  float brightness, contrast, saturation, hue;
  bool grayscale;
  double blurSigma;
};

/** floor for |v| < 2^31 without a libm call (std::floor is one without SSE4.1). */
inline int64_t floorToInt(float v) {
  const int64_t t = static_cast<int64_t>(v);
  return t - (static_cast<float>(t) > v ? 1 : 0);
}

/**
 * affine_grid + grid_sample (align_corners=false, zeros padding) for one sample: output pixel
 * (i, j) sits at normalised ((2i+1)/S − 1, (2j+1)/S − 1); the input position is theta times that,
 * unnormalised as ((x + 1)·W − 1)/2 — affine in (i, j), so it is stepped, not recomputed. Bilinear
 * taps outside the image count as 0.
 */
template <typename T>
void resample(const T* src, int64_t channels, int64_t height, int64_t width, const float* t, int64_t size, bool nearest,
              float scale, float* out) {
  const int64_t plane = height * width, outPlane = size * size;
  const float w = static_cast<float>(width), h = static_cast<float>(height), step = 2.0f / static_cast<float>(size);
  // ix = ((t0·xn + t1·yn + t2 + 1)·W − 1)/2 with xn = step·i + step/2 − 1: d(ix)/di = t0·step·W/2.
  const float dixDi = t[0] * step * w * 0.5f, diyDi = t[3] * step * h * 0.5f;
  for (int64_t j = 0; j < size; ++j) {
    const float yn = step * static_cast<float>(j) + step * 0.5f - 1.0f;
    const float xn0 = step * 0.5f - 1.0f;
    const float ix0 = ((t[0] * xn0 + t[1] * yn + t[2] + 1.0f) * w - 1.0f) * 0.5f;
    const float iy0 = ((t[3] * xn0 + t[4] * yn + t[5] + 1.0f) * h - 1.0f) * 0.5f;
    float* row = out + j * size;
    for (int64_t i = 0; i < size; ++i) {
      const float ix = ix0 + dixDi * static_cast<float>(i);
      const float iy = iy0 + diyDi * static_cast<float>(i);
      if (nearest) {
        const int64_t x = static_cast<int64_t>(std::nearbyint(ix)), y = static_cast<int64_t>(std::nearbyint(iy));
        const bool inside = x >= 0 && x < width && y >= 0 && y < height;
        const T* p = src + y * width + x;
        for (int64_t c = 0; c < channels; ++c) row[c * outPlane + i] = inside ? static_cast<float>(p[c * plane]) * scale : 0.0f;
        continue;
      }
      const int64_t x0 = floorToInt(ix), y0 = floorToInt(iy);
      const float ax = ix - static_cast<float>(x0), ay = iy - static_cast<float>(y0);
      const float w00 = (1 - ax) * (1 - ay), w01 = ax * (1 - ay), w10 = (1 - ax) * ay, w11 = ax * ay;
      if (x0 >= 0 && x0 + 1 < width && y0 >= 0 && y0 + 1 < height) {  // all four taps inside: the common case
        const T* p = src + y0 * width + x0;
        for (int64_t c = 0; c < channels; ++c, p += plane) {
          const float v = w00 * static_cast<float>(p[0]) + w01 * static_cast<float>(p[1]) + w10 * static_cast<float>(p[width]) +
                          w11 * static_cast<float>(p[width + 1]);
          row[c * outPlane + i] = v * scale;
        }
        continue;
      }
      const bool inX0 = x0 >= 0 && x0 < width, inX1 = x0 + 1 >= 0 && x0 + 1 < width;
      const bool inY0 = y0 >= 0 && y0 < height, inY1 = y0 + 1 >= 0 && y0 + 1 < height;
      for (int64_t c = 0; c < channels; ++c) {
        const T* p = src + c * plane;
        float v = 0.0f;
        if (inY0 && inX0) v += w00 * static_cast<float>(p[y0 * width + x0]);
        if (inY0 && inX1) v += w01 * static_cast<float>(p[y0 * width + x0 + 1]);
        if (inY1 && inX0) v += w10 * static_cast<float>(p[(y0 + 1) * width + x0]);
        if (inY1 && inX1) v += w11 * static_cast<float>(p[(y0 + 1) * width + x0 + 1]);
        row[c * outPlane + i] = v * scale;
      }
    }
  }
}

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
void jitter(float* img, int64_t channels, int64_t plane, const Sample& s) {
  float* r = img;
  float* g = channels == 3 ? img + plane : img;
  float* b = channels == 3 ? img + 2 * plane : img;
  const int64_t count = channels * plane;
  for (int64_t op : s.order) {
    if (op == 0) {
      const float f = s.brightness;
      for (int64_t k = 0; k < count; ++k) img[k] = clamp01(img[k] * f);
    } else if (op == 1) {
      double sum = 0;
      if (channels == 3) {
        for (int64_t k = 0; k < plane; ++k) sum += 0.2989f * r[k] + 0.587f * g[k] + 0.114f * b[k];
      } else {
        for (int64_t k = 0; k < plane; ++k) sum += r[k];
      }
      const float mean = static_cast<float>(sum / static_cast<double>(plane));
      const float c = s.contrast, offset = mean * (1.0f - c);
      for (int64_t k = 0; k < count; ++k) img[k] = clamp01(img[k] * c + offset);
    } else if (op == 2 && channels == 3) {
      const float f = s.saturation, rest = 1.0f - f;
      for (int64_t k = 0; k < plane; ++k) {
        const float gray = (0.2989f * r[k] + 0.587f * g[k] + 0.114f * b[k]) * rest;
        r[k] = clamp01(r[k] * f + gray);
        g[k] = clamp01(g[k] * f + gray);
        b[k] = clamp01(b[k] * f + gray);
      }
    } else if (op == 3 && channels == 3 && s.hue != 0.0f) {
      hueShift(r, g, b, plane, s.hue);
    }
  }
}

/** Index of a reflected position (no edge repeat), for |overshoot| < n. */
inline int64_t reflect(int64_t i, int64_t n) { return i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i); }

/**
 * Separable Gaussian blur of each plane with reflect padding, as the tensor path's two grouped
 * convolutions: weights exp(−d²/2σ²) for d in [−radius, radius], normalised; where the image is
 * smaller than the kernel, the kernel is cut to what reflection allows and renormalised.
 */
void blur(float* img, int64_t channels, int64_t height, int64_t width, double sigma, int64_t radius, std::vector<float>& scratch) {
  const int64_t pad = std::min<int64_t>(radius, std::min(height, width) - 1);
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

std::vector<Sample> samplesOf(const at::Tensor& theta, const at::Tensor& order, const AugmentParams& p) {
  const int64_t n = theta.size(0);
  at::Tensor th = theta.to(at::kDouble).contiguous(), ord = order.to(at::kLong).contiguous();
  auto doubles = [](const at::Tensor& t) { return t.to(at::kDouble).contiguous(); };
  at::Tensor jit = doubles(p.jitter), bri = doubles(p.brightness), con = doubles(p.contrast), sat = doubles(p.saturation),
             hue = doubles(p.hue), gray = doubles(p.grayscale), sig = doubles(p.blurSigma);
  std::vector<Sample> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    Sample& s = out[static_cast<size_t>(i)];
    for (int k = 0; k < 6; ++k) s.theta[k] = static_cast<float>(th.data_ptr<double>()[i * 6 + k]);
    s.jitter = jit.data_ptr<double>()[i] > 0;
    for (int k = 0; k < 4; ++k) s.order[k] = ord.data_ptr<int64_t>()[i * 4 + k];
    s.brightness = static_cast<float>(bri.data_ptr<double>()[i]);
    s.contrast = static_cast<float>(con.data_ptr<double>()[i]);
    s.saturation = static_cast<float>(sat.data_ptr<double>()[i]);
    s.hue = static_cast<float>(hue.data_ptr<double>()[i]);
    s.grayscale = gray.data_ptr<double>()[i] > 0;
    s.blurSigma = sig.data_ptr<double>()[i];
  }
  return out;
}

}  // namespace

at::Tensor augmentFused(const at::Tensor& src, const at::Tensor& theta, int64_t size, bool nearest,
                        const at::Tensor& order, const AugmentParams& params, int64_t blurRadius) {
  const at::Tensor input = src.contiguous();
  const int64_t n = input.size(0), channels = input.size(1), height = input.size(2), width = input.size(3);
  const std::vector<Sample> samples = samplesOf(theta, order, params);
  at::Tensor out = at::empty({n, channels, size, size}, at::TensorOptions().dtype(at::kFloat));
  float* outData = out.data_ptr<float>();
  const bool bytes = input.scalar_type() == at::kByte;
  const int64_t inPlane = channels * height * width, outPlane = size * size;
  at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> scratch;
    for (int64_t i = begin; i < end; ++i) {
      const Sample& s = samples[static_cast<size_t>(i)];
      float* img = outData + i * channels * outPlane;
      if (bytes) {
        resample(input.data_ptr<uint8_t>() + i * inPlane, channels, height, width, s.theta, size, nearest, 1.0f / 255.0f, img);
      } else {
        resample(input.data_ptr<float>() + i * inPlane, channels, height, width, s.theta, size, nearest, 1.0f, img);
      }
      if (s.jitter) jitter(img, channels, outPlane, s);
      if (s.grayscale && channels == 3) {
        float *r = img, *g = img + outPlane, *b = img + 2 * outPlane;
        for (int64_t k = 0; k < outPlane; ++k) r[k] = g[k] = b[k] = 0.2989f * r[k] + 0.587f * g[k] + 0.114f * b[k];
      }
      if (s.blurSigma > 0) blur(img, channels, size, size, s.blurSigma, blurRadius, scratch);
      for (int64_t k = 0; k < channels * outPlane; ++k) img[k] = clamp01(img[k]);
    }
  });
  return out;
}

}  // namespace imlm::augment::cpu

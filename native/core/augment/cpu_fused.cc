#include "core/augment/cpu_fused.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <ATen/Functions.h>
#include <ATen/Parallel.h>

namespace imlm::augment::cpu {
namespace {

inline float clamp01(float v) { return std::min(std::max(v, 0.0f), 1.0f); }

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

}  // namespace

at::Tensor augmentFused(const at::Tensor& src, const AugmentPolicy& policy, const BatchDraws& draws) {
  const at::Tensor input = src.contiguous();
  const at::Tensor theta = draws.theta.contiguous();
  const int64_t n = input.size(0), channels = input.size(1), height = input.size(2), width = input.size(3);
  const int64_t size = policy.outputSize;
  at::Tensor out = at::empty({n, channels, size, size}, at::TensorOptions().dtype(at::kFloat));
  float* outData = out.data_ptr<float>();
  const bool bytes = input.scalar_type() == at::kByte;
  const int64_t inPlane = channels * height * width, outPlane = size * size;
  at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> scratch;
    for (int64_t i = begin; i < end; ++i) {
      float t[6];
      for (int k = 0; k < 6; ++k) t[k] = static_cast<float>(theta.data_ptr<double>()[i * 6 + k]);
      float* img = outData + i * channels * outPlane;
      if (bytes) {
        resample(input.data_ptr<uint8_t>() + i * inPlane, channels, height, width, t, size, policy.nearest, 1.0f / 255.0f, img);
      } else {
        resample(input.data_ptr<float>() + i * inPlane, channels, height, width, t, size, policy.nearest, 1.0f, img);
      }
      const FusedSample sample{draws, i};
      for (const AugmentOp& op : augmentOps()) {
        if (op.fusedKernel) op.fusedKernel(img, channels, size, policy, sample, scratch);
      }
      for (int64_t k = 0; k < channels * outPlane; ++k) img[k] = clamp01(img[k]);
    }
  });
  return out;
}

}  // namespace imlm::augment::cpu

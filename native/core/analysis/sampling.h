// Seeded sampling for the bootstraps. std::mt19937_64 is specified bit-for-bit by the C++
// standard, and the bounded draw below is our own (std::uniform_int_distribution differs between
// standard libraries), so a seed gives the same resamples with every compiler and platform.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace imlm::analysis {

class SampleRng {
 public:
  explicit SampleRng(uint64_t seed) : engine_(seed) {}

  /** Uniform integer in [0, bound), bound ≥ 1, without modulo bias (rejection). */
  uint64_t below(uint64_t bound);

  /** Multiplicity of each of n rows in one resample of n rows drawn with replacement. */
  std::vector<int64_t> resampleCounts(int64_t n);

  /** `size` distinct rows of 0..n−1 (partial Fisher–Yates on a fresh 0..n−1), in draw order. */
  std::vector<int64_t> subsetWithoutReplacement(int64_t n, int64_t size);

 private:
  std::mt19937_64 engine_;
};

}  // namespace imlm::analysis

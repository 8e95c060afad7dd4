#include "core/analysis/sampling.h"

#include <numeric>
#include <utility>

namespace imlm::analysis {

uint64_t SampleRng::below(uint64_t bound) {
  // 2^64 mod bound: draws below it would make the low residues more likely.
  const uint64_t reject = (0 - bound) % bound;
  uint64_t x = engine_();
  while (x < reject) x = engine_();
  return x % bound;
}

std::vector<int64_t> SampleRng::resampleCounts(int64_t n) {
  std::vector<int64_t> counts(static_cast<size_t>(n), 0);
  for (int64_t i = 0; i < n; ++i) ++counts[below(static_cast<uint64_t>(n))];
  return counts;
}

std::vector<int64_t> SampleRng::subsetWithoutReplacement(int64_t n, int64_t size) {
  std::vector<int64_t> rows(static_cast<size_t>(n));
  std::iota(rows.begin(), rows.end(), int64_t{0});
  for (int64_t i = 0; i < size; ++i) {
    const auto j = i + static_cast<int64_t>(below(static_cast<uint64_t>(n - i)));
    std::swap(rows[i], rows[j]);
  }
  rows.resize(static_cast<size_t>(size));
  return rows;
}

}  // namespace imlm::analysis

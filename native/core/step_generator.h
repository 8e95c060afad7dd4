// A generator for (seed, stream, index): independent random streams without shared state, so
// the batch of step t is a function of (seed, t) only (the pre-training sources, the
// fine-tuner). splitmix64 of the three, so neighbouring steps get unrelated seeds.
#pragma once

#include <cstdint>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/Generator.h>

namespace imlm {

inline at::Generator generatorFor(uint64_t seed, uint64_t stream, int64_t index) {
  uint64_t z = seed ^ (stream * 0x9E3779B97F4A7C15ULL) ^ (static_cast<uint64_t>(index) * 0xBF58476D1CE4E5B9ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return at::make_generator<at::CPUGeneratorImpl>(z);
}

}  // namespace imlm

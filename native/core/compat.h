// Every difference between the LibTorch versions we build against lives here: Debian
// bookworm's 1.13.1 (CPU, development and CI machines) and the LibTorch inside PyTorch 2.x
// (CUDA servers). Code elsewhere uses these names and never tests versions itself.
#pragma once

#include <torch/version.h>

// True when the LibTorch headers are at least major.minor. (Debian's 1.13.1 headers say
// 1.13.0; patch levels are never tested for that reason.)
#define IMLM_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) ||       \
   (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace imlm::compat {

/** The LibTorch version the headers declare. */
inline const char* headerVersion() { return TORCH_VERSION; }

}  // namespace imlm::compat

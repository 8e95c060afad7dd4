// Reading and writing safetensors files (docs/formats.md). Reading is strict: every way a file
// can be corrupt or truncated is an imlm::Error(kFormat) naming the file and the tensor.
#pragma once

#include <map>
#include <string>

#include <ATen/core/Tensor.h>

namespace imlm::io {

using TensorMap = std::map<std::string, at::Tensor>;
using Metadata = std::map<std::string, std::string>;

struct SafetensorsContent {
  TensorMap tensors;  // CPU, contiguous
  Metadata metadata;
};

/** Reads a whole file. Throws kIo if it cannot be read, kFormat if it is not valid. */
SafetensorsContent readSafetensors(const std::string& path);

/**
 * The same checks, but the tensors point into a private (copy-on-write) memory mapping of the
 * file instead of being copied: pages are read when touched, so a data set larger than memory
 * can be sampled. Tensors whose data is not aligned to their element size are copied.
 */
SafetensorsContent readSafetensorsMapped(const std::string& path);

/**
 * Writes `tensors` (any device; copied to CPU contiguous) and `metadata` atomically: the
 * previous file at `path` survives any failure or crash during the write.
 */
void writeSafetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata = {});

}  // namespace imlm::io

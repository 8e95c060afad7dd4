// Writing a file so that a crash at any moment leaves either the old file or the new one,
// never a mix: write to a temp file in the same folder, fsync, rename over the target, fsync
// the folder.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace imlm::io {

/** Receives the bytes to write, in order. */
using ByteSink = std::function<void(const void* data, size_t size)>;

/**
 * Calls `produce` with a sink that appends to a temp file, then atomically replaces `path`.
 * On any failure the temp file is removed, `path` is untouched, and imlm::Error(kIo) names the
 * file and the system error.
 */
void writeFileAtomically(const std::string& path, const std::function<void(const ByteSink&)>& produce);

}  // namespace imlm::io

// A small, strict JSON reader and string escaper, for the headers of safetensors files (which
// come from outside and may be corrupt). Not a general JSON library: configurations are parsed
// in TypeScript and cross into C++ as plain structs.
//
// Why not nlohmann/json: the build must work with nothing but a LibTorch on the machine (CUDA
// servers have PyTorch but usually not nlohmann, and cannot download it); a safetensors header
// needs objects, arrays, strings and integers only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace imlm::json {

struct Value {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  bool boolean = false;
  double number = 0;
  bool isInteger = false;  // the literal had no fraction or exponent
  int64_t integer = 0;     // valid when isInteger
  std::string string;
  std::vector<Value> array;
  std::vector<std::pair<std::string, Value>> object;  // in file order

  /** The member called `key`, or nullptr. */
  const Value* find(std::string_view key) const;
};

/** Bounds that keep parsing untrusted text linear in time and memory. */
struct ParseOptions {
  int maxDepth = 16;
  /** Members of the outermost object or elements of the outermost array. */
  size_t maxTopLevelMembers = SIZE_MAX;
  /** Values of the whole document (each object, array, string, number, literal counts one). */
  size_t maxValues = SIZE_MAX;
  /** A key appearing twice in one object is an error (JSON leaves it undefined; we refuse). */
  bool rejectDuplicateKeys = true;
};

/** Thrown (instead of a plain std::runtime_error) when a ParseOptions bound is exceeded. */
struct LimitExceeded : std::runtime_error {
  enum class Bound { kTopLevelMembers, kValues };
  LimitExceeded(Bound which, const std::string& what) : std::runtime_error(what), bound(which) {}
  Bound bound;
};

/**
 * Parses `text` completely (trailing non-space is an error). Strings must be valid UTF-8 and
 * \u escapes must not leave lone surrogates, so distinct keys stay distinct in JavaScript.
 * Throws std::runtime_error (LimitExceeded for a bound) with the byte offset of the problem;
 * callers wrap it into imlm::Error naming the file. Time is O(n log n) in the text's length.
 */
Value parse(std::string_view text, const ParseOptions& options = {});

/** `text` as a JSON string literal, quotes included. */
std::string quote(std::string_view text);

}  // namespace imlm::json

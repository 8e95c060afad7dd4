// A small, strict JSON reader and string escaper, for the headers of safetensors files (which
// come from outside and may be corrupt). Not a general JSON library: configurations are parsed
// in TypeScript and cross into C++ as plain structs.
//
// Why not nlohmann/json: the build must work with nothing but a LibTorch on the machine (CUDA
// servers have PyTorch but usually not nlohmann, and cannot download it); a safetensors header
// needs objects, arrays, strings and integers only.
#pragma once

#include <cstdint>
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

/**
 * Parses `text` completely (trailing non-space is an error). Throws std::runtime_error with the
 * byte offset of the problem; callers wrap it into imlm::Error naming the file.
 */
Value parse(std::string_view text, int maxDepth = 16);

/** `text` as a JSON string literal, quotes included. */
std::string quote(std::string_view text);

}  // namespace imlm::json

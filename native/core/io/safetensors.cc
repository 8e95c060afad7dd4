#include "core/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include <ATen/Functions.h>

#include "core/errors.h"
#include "core/io/atomic_file.h"
#include "core/io/json.h"
#include "core/tensor_io.h"

namespace imlm::io {
namespace {

/** Header lengths above this are corruption, not checkpoints (the format's own limit). */
constexpr uint64_t kMaxHeaderBytes = 100u * 1000u * 1000u;

struct DtypeName {
  const char* name;
  c10::ScalarType type;
};

constexpr DtypeName kDtypeNames[] = {
    {"F32", c10::ScalarType::Float}, {"F64", c10::ScalarType::Double}, {"I64", c10::ScalarType::Long},
    {"I32", c10::ScalarType::Int},   {"U8", c10::ScalarType::Byte},    {"BOOL", c10::ScalarType::Bool},
    {"BF16", c10::ScalarType::BFloat16}, {"F16", c10::ScalarType::Half}, {"I16", c10::ScalarType::Short},
    {"I8", c10::ScalarType::Char},
};

const char* nameOf(c10::ScalarType type) {
  for (const auto& d : kDtypeNames) {
    if (d.type == type) return d.name;
  }
  throw Error(ErrorCode::kInvalidArgument,
              std::string("cannot store dtype ") + c10::toString(type) + " in safetensors");
}

[[noreturn]] void corrupt(const std::string& path, const std::string& what) {
  throw Error(ErrorCode::kFormat, "not a valid safetensors file: " + path + ": " + what);
}

std::vector<char> readAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw Error(ErrorCode::kIo, "cannot open " + path + ": " + std::strerror(errno));
  const std::streamsize size = in.tellg();
  std::vector<char> bytes(static_cast<size_t>(size));
  in.seekg(0);
  if (size > 0 && !in.read(bytes.data(), size)) throw Error(ErrorCode::kIo, "cannot read " + path);
  return bytes;
}

struct Entry {
  std::string name;
  c10::ScalarType type;
  std::vector<int64_t> shape;
  uint64_t begin;
  uint64_t end;
};

Entry parseEntry(const std::string& path, const std::string& name, const json::Value& v) {
  const std::string where = "tensor '" + name + "'";
  if (v.kind != json::Value::Kind::kObject) corrupt(path, where + " is not an object");
  const json::Value* dtype = v.find("dtype");
  const json::Value* shape = v.find("shape");
  const json::Value* offsets = v.find("data_offsets");
  if (!dtype || dtype->kind != json::Value::Kind::kString) corrupt(path, where + " has no dtype string");
  if (!shape || shape->kind != json::Value::Kind::kArray) corrupt(path, where + " has no shape array");
  if (!offsets || offsets->kind != json::Value::Kind::kArray || offsets->array.size() != 2) {
    corrupt(path, where + " has no data_offsets [begin, end]");
  }
  Entry e{name, c10::ScalarType::Undefined, {}, 0, 0};
  for (const auto& d : kDtypeNames) {
    if (dtype->string == d.name) e.type = d.type;
  }
  if (e.type == c10::ScalarType::Undefined) corrupt(path, where + " has unknown dtype '" + dtype->string + "'");
  for (const auto& dim : shape->array) {
    if (dim.kind != json::Value::Kind::kNumber || !dim.isInteger || dim.integer < 0) {
      corrupt(path, where + " has a shape entry that is not a non-negative integer");
    }
    e.shape.push_back(dim.integer);
  }
  for (int i = 0; i < 2; ++i) {
    const json::Value& o = offsets->array[static_cast<size_t>(i)];
    if (o.kind != json::Value::Kind::kNumber || !o.isInteger || o.integer < 0) {
      corrupt(path, where + " has data_offsets that are not non-negative integers");
    }
  }
  e.begin = static_cast<uint64_t>(offsets->array[0].integer);
  e.end = static_cast<uint64_t>(offsets->array[1].integer);
  return e;
}

}  // namespace

/** A read-only view of a whole file mapped into memory (copy-on-write, so tensors may be written). */
struct Mapping {
  void* address = nullptr;
  size_t size = 0;
  ~Mapping() {
    if (address != nullptr) ::munmap(address, size);
  }
};

std::shared_ptr<Mapping> mapFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(ErrorCode::kIo, "cannot open " + path + ": " + std::strerror(errno));
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    ::close(fd);
    throw Error(ErrorCode::kIo, "cannot stat " + path + ": " + std::strerror(errno));
  }
  auto mapping = std::make_shared<Mapping>();
  mapping->size = static_cast<size_t>(info.st_size);
  if (mapping->size > 0) {
    void* address = ::mmap(nullptr, mapping->size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (address == MAP_FAILED) {
      ::close(fd);
      throw Error(ErrorCode::kIo, "cannot map " + path + ": " + std::strerror(errno));
    }
    mapping->address = address;
  }
  ::close(fd);
  return mapping;
}

/**
 * Parses and checks a whole file's bytes. With `mapping`, tensors whose data is suitably aligned
 * point into it (the mapping lives as long as any of them); otherwise they are copies.
 */
SafetensorsContent parseContent(const std::string& path, const char* bytes, size_t size,
                                const std::shared_ptr<Mapping>& mapping) {
  if (size < 8) corrupt(path, "file is " + std::to_string(size) + " bytes, shorter than the 8-byte header length");
  uint64_t headerLength = 0;
  for (int i = 7; i >= 0; --i) headerLength = (headerLength << 8) | static_cast<uint8_t>(bytes[static_cast<size_t>(i)]);
  if (headerLength > kMaxHeaderBytes || headerLength > size - 8) {
    corrupt(path, "header length " + std::to_string(headerLength) + " is beyond the file's " +
                      std::to_string(size) + " bytes (truncated or not safetensors)");
  }
  json::Value header;
  try {
    header = json::parse(std::string_view(bytes + 8, headerLength));
  } catch (const std::runtime_error& e) {
    corrupt(path, std::string("header is not valid JSON: ") + e.what());
  }
  if (header.kind != json::Value::Kind::kObject) corrupt(path, "header is not a JSON object");

  const uint64_t dataStart = 8 + headerLength;
  const uint64_t dataSize = size - dataStart;
  SafetensorsContent content;
  std::vector<Entry> entries;
  for (const auto& [name, value] : header.object) {
    if (name == "__metadata__") {
      if (value.kind != json::Value::Kind::kObject) corrupt(path, "__metadata__ is not an object");
      for (const auto& [key, item] : value.object) {
        if (item.kind != json::Value::Kind::kString) corrupt(path, "__metadata__['" + key + "'] is not a string");
        content.metadata[key] = item.string;
      }
      continue;
    }
    entries.push_back(parseEntry(path, name, value));
  }
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const Entry& e : entries) {
    const std::string where = "tensor '" + e.name + "'";
    int64_t numel = 1;
    for (int64_t d : e.shape) {
      if (d != 0 && numel > INT64_MAX / d) corrupt(path, where + " has an impossible shape " + shapeString(e.shape));
      numel *= d;
    }
    const uint64_t expected = static_cast<uint64_t>(numel) * c10::elementSize(e.type);
    if (e.end < e.begin || e.end - e.begin != expected) {
      corrupt(path, where + " with shape " + shapeString(e.shape) + " and dtype " + nameOf(e.type) + " needs " +
                        std::to_string(expected) + " bytes but its data_offsets span " +
                        std::to_string(e.end >= e.begin ? e.end - e.begin : 0));
    }
    if (e.end > dataSize) {
      corrupt(path, where + " ends at byte " + std::to_string(e.end) + " of a data section of " +
                        std::to_string(dataSize) + " bytes (file truncated?)");
    }
    if (expected > 0) ranges.emplace_back(e.begin, e.end);
    const char* source = bytes + dataStart + e.begin;
    const bool aligned = reinterpret_cast<uintptr_t>(source) % c10::elementSize(e.type) == 0;
    at::Tensor t;
    if (mapping && aligned && expected > 0) {
      std::shared_ptr<Mapping> keep = mapping;
      t = at::from_blob(const_cast<char*>(source), e.shape, [keep](void*) {}, at::TensorOptions().dtype(e.type));
    } else {
      t = at::empty(e.shape, at::TensorOptions().dtype(e.type));
      if (expected > 0) std::memcpy(t.data_ptr(), source, expected);
    }
    content.tensors.emplace(e.name, std::move(t));
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].first < ranges[i - 1].second) corrupt(path, "two tensors' data_offsets overlap");
  }
  return content;
}

SafetensorsContent readSafetensors(const std::string& path) {
  const std::vector<char> bytes = readAll(path);
  return parseContent(path, bytes.data(), bytes.size(), nullptr);
}

SafetensorsContent readSafetensorsMapped(const std::string& path) {
  std::shared_ptr<Mapping> mapping = mapFile(path);
  return parseContent(path, static_cast<const char*>(mapping->address), mapping->size, mapping);
}

void writeSafetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata) {
  // Contiguous CPU copies first, so the header describes exactly the bytes written.
  std::vector<std::pair<std::string, at::Tensor>> items;
  items.reserve(tensors.size());
  for (const auto& [name, tensor] : tensors) {
    if (!tensor.defined()) throw Error(ErrorCode::kInternal, "tensor '" + name + "' is undefined");
    items.emplace_back(name, tensor.detach().to(c10::Device(c10::kCPU)).contiguous());
  }
  std::string header = "{";
  bool first = true;
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    for (const auto& [key, value] : metadata) {
      if (!first) header += ",";
      first = false;
      header += json::quote(key) + ":" + json::quote(value);
    }
    header += "}";
    first = false;
  }
  uint64_t offset = 0;
  for (const auto& [name, t] : items) {
    const uint64_t size = t.nbytes();
    header += first ? "" : ",";
    first = false;
    header += json::quote(name) + ":{\"dtype\":\"" + nameOf(t.scalar_type()) + "\",\"shape\":[";
    for (int64_t i = 0; i < t.dim(); ++i) header += (i ? "," : "") + std::to_string(t.size(i));
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + size) + "]}";
    offset += size;
  }
  header += "}";
  while (header.size() % 8 != 0) header += ' ';  // keeps the data section 8-byte aligned

  writeFileAtomically(path, [&](const ByteSink& write) {
    uint8_t length[8];
    uint64_t n = header.size();
    for (int i = 0; i < 8; ++i, n >>= 8) length[i] = static_cast<uint8_t>(n & 0xFF);
    write(length, 8);
    write(header.data(), header.size());
    for (const auto& [name, t] : items) {
      if (t.nbytes() > 0) write(t.data_ptr(), t.nbytes());
    }
  });
}

}  // namespace imlm::io

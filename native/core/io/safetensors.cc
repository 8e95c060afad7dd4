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
/** At most this many tensors in one file (imlm-native's largest, a ResNet-50 state, has ~2,000). */
constexpr size_t kMaxTensors = 65536;
/** At most this many dimensions per tensor (imlm-native's files use at most 5). */
constexpr size_t kMaxDims = 16;
/** Every dimension fits a JS number exactly (Number.MAX_SAFE_INTEGER), so `.shape` is exact. */
constexpr int64_t kMaxDimSize = (int64_t{1} << 53) - 1;
/**
 * At most this many JSON values in a header: enough for kMaxTensors entries of kMaxDims
 * dimensions (1 object, dtype, shape, dims, offsets, 2 offsets) plus a metadata map. Bounds the
 * parser's memory whatever the header holds.
 */
constexpr size_t kMaxJsonValues = kMaxTensors * (6 + kMaxDims) + 65536;

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

/** A name no JS object can hold as an own property through assignment (docs/formats.md). */
bool reservedName(const std::string& name) { return name == "__proto__"; }

std::vector<char> readAll(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(ErrorCode::kIo, "cannot open " + path + ": " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0) throw Error(ErrorCode::kIo, "cannot stat " + path + ": " + std::strerror(errno));
  if (!S_ISREG(info.st_mode)) throw Error(ErrorCode::kIo, "cannot read " + path + ": not a regular file");
  std::vector<char> bytes(static_cast<size_t>(info.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(ErrorCode::kIo, "cannot read " + path + ": " + std::strerror(errno));
    if (n == 0) break;  // the file shrank while being read: parse what is there
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

struct Entry {
  std::string name;
  c10::ScalarType type;
  std::vector<int64_t> shape;
  uint64_t begin;
  uint64_t end;
  uint64_t bytes;  // numel × element size, checked against end − begin
};

/**
 * One tensor's entry, fully checked against a data section of `dataSize` bytes: every size is
 * computed with overflow checks, so a shape whose element count or byte size wraps around 2^64
 * cannot pass for a small one.
 */
Entry parseEntry(const std::string& path, const std::string& name, const json::Value& v, uint64_t dataSize) {
  const std::string where = "tensor '" + name + "'";
  if (reservedName(name)) {
    corrupt(path, "tensor name '__proto__' is refused: it cannot be a key of a JS object "
                  "(docs/formats.md); rename the tensor where the file is written");
  }
  if (v.kind != json::Value::Kind::kObject) corrupt(path, where + " is not an object");
  const json::Value* dtype = v.find("dtype");
  const json::Value* shape = v.find("shape");
  const json::Value* offsets = v.find("data_offsets");
  if (!dtype || dtype->kind != json::Value::Kind::kString) corrupt(path, where + " has no dtype string");
  if (!shape || shape->kind != json::Value::Kind::kArray) corrupt(path, where + " has no shape array");
  if (!offsets || offsets->kind != json::Value::Kind::kArray || offsets->array.size() != 2) {
    corrupt(path, where + " has no data_offsets [begin, end]");
  }
  Entry e{name, c10::ScalarType::Undefined, {}, 0, 0, 0};
  for (const auto& d : kDtypeNames) {
    if (dtype->string == d.name) e.type = d.type;
  }
  if (e.type == c10::ScalarType::Undefined) {
    corrupt(path, where + " has unknown dtype '" + dtype->string.substr(0, 32) +
                      "' (expected F32, F64, I64, I32, I16, I8, U8, BOOL, BF16 or F16)");
  }
  if (shape->array.size() > kMaxDims) {
    corrupt(path, where + " has " + std::to_string(shape->array.size()) + " dimensions; at most " +
                      std::to_string(kMaxDims) + " are allowed (docs/formats.md)");
  }
  // numel: the element count; span: the product of max(dim, 1), which LibTorch's contiguous
  // strides reach even when a zero dimension makes numel 0.
  int64_t numel = 1;
  int64_t span = 1;
  for (const auto& dim : shape->array) {
    if (dim.kind != json::Value::Kind::kNumber || !dim.isInteger || dim.integer < 0 || dim.integer > kMaxDimSize) {
      corrupt(path, where + " has a shape entry that is not an integer in 0.." + std::to_string(kMaxDimSize));
    }
    e.shape.push_back(dim.integer);
    if (__builtin_mul_overflow(span, std::max<int64_t>(dim.integer, 1), &span)) {
      corrupt(path, where + " has an impossible shape " + shapeString(e.shape) + "...: its size overflows 64 bits");
    }
    numel *= dim.integer;  // ≤ span: cannot overflow
  }
  for (int i = 0; i < 2; ++i) {
    const json::Value& o = offsets->array[static_cast<size_t>(i)];
    if (o.kind != json::Value::Kind::kNumber || !o.isInteger || o.integer < 0) {
      corrupt(path, where + " has data_offsets that are not non-negative integers");
    }
  }
  e.begin = static_cast<uint64_t>(offsets->array[0].integer);
  e.end = static_cast<uint64_t>(offsets->array[1].integer);
  const std::string declared = " with shape " + shapeString(e.shape) + " and dtype " + nameOf(e.type);
  if (__builtin_mul_overflow(static_cast<uint64_t>(numel), static_cast<uint64_t>(c10::elementSize(e.type)), &e.bytes)) {
    corrupt(path, where + declared + " holds " + std::to_string(numel) +
                      " elements, whose byte size overflows 64 bits: far more than the data section's " +
                      std::to_string(dataSize) + " bytes can hold (a corrupt shape)");
  }
  // With end ≤ dataSize below, e.bytes is then bounded by the file's size too.
  if (e.end < e.begin || e.end - e.begin != e.bytes) {
    corrupt(path, where + declared + " needs " + std::to_string(e.bytes) + " bytes but its data_offsets [" +
                      std::to_string(e.begin) + ", " + std::to_string(e.end) + "] span " +
                      (e.end >= e.begin ? std::to_string(e.end - e.begin) : std::string("a negative length")));
  }
  if (e.end > dataSize) {
    corrupt(path, where + " ends at byte " + std::to_string(e.end) + " of a data section of " +
                      std::to_string(dataSize) + " bytes (file truncated?)");
  }
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
  json::ParseOptions options;
  options.maxTopLevelMembers = kMaxTensors + 1;  // + __metadata__
  options.maxValues = kMaxJsonValues;
  options.rejectDuplicateKeys = true;
  try {
    header = json::parse(std::string_view(bytes + 8, headerLength), options);
  } catch (const json::LimitExceeded& e) {
    if (e.bound == json::LimitExceeded::Bound::kTopLevelMembers) {
      corrupt(path, "header declares more than " + std::to_string(kMaxTensors) +
                        " tensors; a file may hold at most " + std::to_string(kMaxTensors) +
                        " tensors (docs/formats.md): split them over several files");
    }
    corrupt(path, std::string("header is too large: ") + e.what() + "; a header may hold at most " +
                      std::to_string(kMaxJsonValues) + " JSON values (" + std::to_string(kMaxTensors) +
                      " tensors of at most " + std::to_string(kMaxDims) + " dimensions, docs/formats.md)");
  } catch (const std::runtime_error& e) {
    corrupt(path, std::string("header is not valid JSON: ") + e.what());
  }
  if (header.kind != json::Value::Kind::kObject) corrupt(path, "header is not a JSON object");

  const uint64_t dataStart = 8 + headerLength;
  const uint64_t dataSize = size - dataStart;
  SafetensorsContent content;
  // Every entry is checked before any tensor is allocated.
  std::vector<Entry> entries;
  entries.reserve(header.object.size());
  for (const auto& [name, value] : header.object) {
    if (name == "__metadata__") {
      if (value.kind != json::Value::Kind::kObject) corrupt(path, "__metadata__ is not an object");
      for (const auto& [key, item] : value.object) {
        if (item.kind != json::Value::Kind::kString) corrupt(path, "__metadata__['" + key + "'] is not a string");
        if (reservedName(key)) {
          corrupt(path, "metadata key '__proto__' is refused: it cannot be a key of a JS object (docs/formats.md)");
        }
        content.metadata[key] = item.string;
      }
      continue;
    }
    entries.push_back(parseEntry(path, name, value, dataSize));
  }
  // Overlap: sort the non-empty ranges once, O(n log n), and compare neighbours.
  std::vector<std::pair<std::pair<uint64_t, uint64_t>, size_t>> ranges;
  ranges.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].bytes > 0) ranges.push_back({{entries[i].begin, entries[i].end}, i});
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].first.first < ranges[i - 1].first.second) {
      corrupt(path, "the data_offsets of tensors '" + entries[ranges[i - 1].second].name + "' and '" +
                        entries[ranges[i].second].name + "' overlap");
    }
  }
  for (const Entry& e : entries) {
    const char* source = bytes + dataStart + e.begin;
    // BOOL bytes other than 0/1 are undefined behaviour for LibTorch: read as U8 and compare.
    const c10::ScalarType storage = e.type == c10::ScalarType::Bool ? c10::ScalarType::Byte : e.type;
    const bool aligned = reinterpret_cast<uintptr_t>(source) % c10::elementSize(e.type) == 0;
    at::Tensor t;
    if (mapping && aligned && e.bytes > 0) {
      std::shared_ptr<Mapping> keep = mapping;
      t = at::from_blob(const_cast<char*>(source), e.shape, [keep](void*) {}, at::TensorOptions().dtype(storage));
    } else {
      t = at::empty(e.shape, at::TensorOptions().dtype(storage));
      if (e.bytes > 0) std::memcpy(t.data_ptr(), source, e.bytes);
    }
    if (e.type == c10::ScalarType::Bool) t = t.ne(0);
    content.tensors.emplace(e.name, std::move(t));
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
    if (reservedName(name) || name == "__metadata__") {
      throw Error(ErrorCode::kInvalidArgument, "cannot write a tensor named '" + name +
                                                   "': the name is reserved (docs/formats.md); rename it");
    }
    items.emplace_back(name, tensor.detach().to(c10::Device(c10::kCPU)).contiguous());
  }
  std::string header = "{";
  bool first = true;
  for (const auto& [key, value] : metadata) {
    if (reservedName(key)) {
      throw Error(ErrorCode::kInvalidArgument, "cannot write metadata key '__proto__': it is reserved (docs/formats.md)");
    }
  }
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

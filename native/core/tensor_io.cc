#include "core/tensor_io.h"

#include <cstring>
#include <limits>
#include <sstream>

#include <ATen/Context.h>
#include <ATen/Functions.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>

#include "core/errors.h"

namespace imlm {
namespace {

struct DTypeEntry {
  DType dtype;
  const char* name;
  c10::ScalarType scalarType;
  size_t itemSize;
};

// The table every conversion reads; one row per JS-visible dtype.
constexpr DTypeEntry kDTypes[] = {
    {DType::kFloat32, "float32", c10::ScalarType::Float, 4},
    {DType::kFloat64, "float64", c10::ScalarType::Double, 8},
    {DType::kInt64, "int64", c10::ScalarType::Long, 8},
    {DType::kInt32, "int32", c10::ScalarType::Int, 4},
    {DType::kUInt8, "uint8", c10::ScalarType::Byte, 1},
    {DType::kBool, "bool", c10::ScalarType::Bool, 1},
};

const DTypeEntry& entryFor(DType dtype) {
  for (const auto& entry : kDTypes) {
    if (entry.dtype == dtype) return entry;
  }
  throw Error(ErrorCode::kInternal, "unknown DType");
}

}  // namespace

std::string shapeString(at::IntArrayRef shape) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << "]";
  return out.str();
}

std::optional<DType> dtypeFromName(std::string_view name) {
  for (const auto& entry : kDTypes) {
    if (name == entry.name) return entry.dtype;
  }
  return std::nullopt;
}

const char* dtypeName(DType dtype) { return entryFor(dtype).name; }

size_t dtypeItemSize(DType dtype) { return entryFor(dtype).itemSize; }

DType dtypeOf(const at::Tensor& tensor) {
  for (const auto& entry : kDTypes) {
    if (entry.scalarType == tensor.scalar_type()) return entry.dtype;
  }
  throw Error(ErrorCode::kInvalidArgument,
              std::string("tensor dtype ") + c10::toString(tensor.scalar_type()) +
                  " has no JavaScript counterpart; expected float32, float64, int64, int32, uint8 "
                  "or bool (convert it first)");
}

int64_t checkedNumel(const std::vector<int64_t>& shape) {
  int64_t numel = 1;
  for (int64_t dim : shape) {
    if (dim < 0) {
      throw Error(ErrorCode::kInvalidArgument,
                  "expected a shape of non-negative sizes but received " + shapeString(shape));
    }
    if (dim != 0 && numel > std::numeric_limits<int64_t>::max() / dim) {
      throw Error(ErrorCode::kInvalidArgument, "shape " + shapeString(shape) + " is too large");
    }
    numel *= dim;
  }
  return numel;
}

at::Tensor tensorFromBytes(const void* data, size_t byteLength, const std::vector<int64_t>& shape,
                           DType dtype) {
  const DTypeEntry& entry = entryFor(dtype);
  const int64_t numel = checkedNumel(shape);
  if (byteLength % entry.itemSize != 0 ||
      static_cast<int64_t>(byteLength / entry.itemSize) != numel) {
    throw Error(ErrorCode::kInvalidArgument,
                "shape " + shapeString(shape) + " needs " + std::to_string(numel) + " " +
                    entry.name + " elements but the data holds " +
                    std::to_string(byteLength / entry.itemSize) +
                    "; pass a shape whose product equals the array length");
  }
  // Bool bytes other than 0/1 are undefined behaviour for torch::kBool: read them as uint8 and
  // compare, so any non-zero byte is true.
  const c10::ScalarType storageType =
      dtype == DType::kBool ? c10::ScalarType::Byte : entry.scalarType;
  at::Tensor out = at::empty(shape, at::TensorOptions().dtype(storageType));
  if (byteLength > 0) std::memcpy(out.data_ptr(), data, byteLength);
  return dtype == DType::kBool ? out.ne(0) : out;
}

void copyTensorBytes(const at::Tensor& tensor, void* dst, size_t byteLength) {
  const DType dtype = dtypeOf(tensor);
  const size_t needed = static_cast<size_t>(tensor.numel()) * dtypeItemSize(dtype);
  if (needed != byteLength) {
    throw Error(ErrorCode::kInternal, "copyTensorBytes: destination holds " +
                                          std::to_string(byteLength) + " bytes, tensor needs " +
                                          std::to_string(needed));
  }
  at::Tensor host = tensor.device().is_cpu() ? tensor : tensor.to(c10::Device(c10::kCPU));
  host = host.contiguous();
  if (byteLength > 0) std::memcpy(dst, host.data_ptr(), byteLength);
}

void makeCurrentDevice(const c10::Device& device) {
  if (device.is_cuda()) c10::impl::getDeviceGuardImpl(device.type())->setDevice(device);
}

c10::Device resolveDevice(const std::string& spec) {
  const bool haveCuda = at::globalContext().hasCUDA();
  if (spec == "auto") return haveCuda ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  std::optional<c10::Device> device;
  if (spec == "cpu" || spec == "cuda" || spec.rfind("cuda:", 0) == 0) {
    try {
      device = c10::Device(spec);
    } catch (const c10::Error&) {
      device.reset();
    }
  }
  if (!device) {
    throw Error(ErrorCode::kInvalidArgument,
                "expected a device 'auto', 'cpu', 'cuda' or 'cuda:N' but received '" + spec + "'");
  }
  if (device->is_cuda()) {
    if (!haveCuda) {
      throw Error(ErrorCode::kDeviceUnavailable,
                  "device '" + spec +
                      "' was asked for but CUDA is not available in this process; run "
                      "`npx imlm-native doctor` to see why, or use --device cpu");
    }
    const int count = at::detail::getCUDAHooks().getNumGPUs();
    const int index = device->has_index() ? device->index() : 0;
    if (index >= count) {
      throw Error(ErrorCode::kDeviceUnavailable,
                  "device '" + spec + "' does not exist: this machine has " +
                      std::to_string(count) + " CUDA device(s), cuda:0..cuda:" +
                      std::to_string(count - 1));
    }
    return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  return *device;
}

std::string deviceName(const c10::Device& device) {
  if (device.is_cpu()) return "cpu";
  return device.str();
}

at::Tensor selectRows(const at::Tensor& t, const at::Tensor& rows, const std::string& what) {
  if (!rows.defined()) return t;
  if (rows.dim() != 1 || rows.scalar_type() != at::kLong) {
    throw Error(ErrorCode::kInvalidArgument, "expected rows as an int64 [m] tensor for " + what);
  }
  if (rows.numel() > 0 && (rows.min().item<int64_t>() < 0 || rows.max().item<int64_t>() >= t.size(0))) {
    throw Error(ErrorCode::kInvalidArgument, "a row index for " + what + " is outside 0.." + std::to_string(t.size(0) - 1));
  }
  return t.index_select(0, rows.to(t.device()));
}

}  // namespace imlm

// Moving tensors across the process boundary as raw bytes: the dtypes imlm-native exchanges
// with JavaScript, byte-exact copies in and out, and device strings. Validation errors are
// imlm::Error with codes the JS side can rely on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

namespace imlm {

/** The element types that cross into JavaScript (each has a TypedArray counterpart). */
enum class DType { kFloat32, kFloat64, kInt64, kInt32, kUInt8, kBool };

std::optional<DType> dtypeFromName(std::string_view name);
const char* dtypeName(DType dtype);
/** Bytes per element as stored in the TypedArray (bool: one byte, 0 or 1). */
size_t dtypeItemSize(DType dtype);
/** The DType of a tensor; throws kInvalidArgument for dtypes JS cannot hold (half, complex...). */
DType dtypeOf(const at::Tensor& tensor);

/** "[2, 3]": a shape as error messages print it. */
std::string shapeString(at::IntArrayRef shape);

/** Number of elements of a shape; throws kInvalidArgument on negative or overflowing dims. */
int64_t checkedNumel(const std::vector<int64_t>& shape);

/**
 * A new CPU tensor holding a copy of `byteLength` bytes at `data`, read as `dtype` with `shape`.
 * Throws kInvalidArgument when the shape does not match the number of elements. For kBool any
 * non-zero byte becomes true.
 */
at::Tensor tensorFromBytes(const void* data, size_t byteLength, const std::vector<int64_t>& shape,
                           DType dtype);

/** Copies a tensor's elements (any device, any strides) into `dst` in row-major order. */
void copyTensorBytes(const at::Tensor& tensor, void* dst, size_t byteLength);

/**
 * Parses "cpu", "cuda", "cuda:N" (and "auto": CUDA if available, else CPU). Throws
 * kInvalidArgument for malformed strings and kDeviceUnavailable when this build or machine
 * has no such device.
 */
c10::Device resolveDevice(const std::string& spec);

/**
 * Rows `rows` (int64 [m]) of `t` along dim 0, bounds checked, so an out-of-range row is a caller
 * error naming `what` rather than a LibTorch index error; an undefined `rows` returns `t`.
 */
at::Tensor selectRows(const at::Tensor& t, const at::Tensor& rows, const std::string& what);

/**
 * Makes a CUDA `device` the calling thread's current device, for good (a no-op for the CPU).
 * Ranks on cuda:N then never touch GPU 0 by default — without it every rank of an 8-GPU server
 * creates a CUDA context on GPU 0, as torch.cuda.set_device(local_rank) exists to prevent.
 */
void makeCurrentDevice(const c10::Device& device);

/** The device in the same spelling resolveDevice accepts ("cpu", "cuda:0"). */
std::string deviceName(const c10::Device& device);

}  // namespace imlm

#include "bridge/tensor_wrap.h"

#include <cstring>
#include <string>
#include <vector>

#include "bridge/addon_data.h"
#include "bridge/error_conversion.h"
#include "bridge/js_args.h"
#include "bridge/promise_worker.h"
#include "core/errors.h"
#include "core/tensor_io.h"

namespace imlm::bridge {
namespace {

/** The dtype a TypedArray holds by default, and the ones it may also be read as. */
bool typedArrayMatches(napi_typedarray_type arrayType, DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return arrayType == napi_float32_array;
    case DType::kFloat64: return arrayType == napi_float64_array;
    case DType::kInt64: return arrayType == napi_bigint64_array;
    case DType::kInt32: return arrayType == napi_int32_array;
    case DType::kUInt8:
    case DType::kBool: return arrayType == napi_uint8_array || arrayType == napi_uint8_clamped_array;
  }
  return false;
}

const char* typedArrayNameFor(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return "Float32Array";
    case DType::kFloat64: return "Float64Array";
    case DType::kInt64: return "BigInt64Array";
    case DType::kInt32: return "Int32Array";
    case DType::kUInt8:
    case DType::kBool: return "Uint8Array";
  }
  return "?";
}

const char* typedArrayName(napi_typedarray_type type) {
  switch (type) {
    case napi_int8_array: return "Int8Array";
    case napi_uint8_array: return "Uint8Array";
    case napi_uint8_clamped_array: return "Uint8ClampedArray";
    case napi_int16_array: return "Int16Array";
    case napi_uint16_array: return "Uint16Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint32_array: return "Uint32Array";
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_bigint64_array: return "BigInt64Array";
    case napi_biguint64_array: return "BigUint64Array";
    default: return "TypedArray";
  }
}

std::optional<DType> defaultDtypeFor(napi_typedarray_type type) {
  switch (type) {
    case napi_float32_array: return DType::kFloat32;
    case napi_float64_array: return DType::kFloat64;
    case napi_bigint64_array: return DType::kInt64;
    case napi_int32_array: return DType::kInt32;
    case napi_uint8_array:
    case napi_uint8_clamped_array: return DType::kUInt8;
    default: return std::nullopt;
  }
}

std::vector<int64_t> readShape(Napi::Env env, const Napi::Value& value) { return JsValue(env, value, "shape").integers(0); }

/**
 * How a tensor reads back in JS: the dtype name `.dtype` reports and the TypedArray that
 * `toTypedArray()` returns (docs/api.md). The DType table covers what JS can create; a file may
 * also hold BF16 and F16 (read as Float32Array, every value exact) and I16/I8.
 */
struct JsView {
  const char* dtype;
  napi_typedarray_type array;
  c10::ScalarType element;  // the scalar type copied into the array (after conversion)
};

JsView jsViewOf(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case c10::ScalarType::BFloat16: return {"bfloat16", napi_float32_array, c10::ScalarType::Float};
    case c10::ScalarType::Half: return {"float16", napi_float32_array, c10::ScalarType::Float};
    case c10::ScalarType::Short: return {"int16", napi_int16_array, c10::ScalarType::Short};
    case c10::ScalarType::Char: return {"int8", napi_int8_array, c10::ScalarType::Char};
    default: break;
  }
  const DType dtype = dtypeOf(t);  // throws for dtypes JS has no counterpart for
  static constexpr napi_typedarray_type kArrays[] = {napi_float32_array, napi_float64_array, napi_bigint64_array,
                                                      napi_int32_array,   napi_uint8_array,   napi_uint8_array};
  return {dtypeName(dtype), kArrays[static_cast<int>(dtype)], t.scalar_type() == c10::ScalarType::Bool ? c10::ScalarType::Byte : t.scalar_type()};
}

/** The longest TypedArray Node 20's V8 creates (buffer.constants.MAX_LENGTH); longer ones abort. */
constexpr uint64_t kMaxTypedArrayLength = uint64_t{1} << 32;

/** Tensor.to(device): the copy runs on a worker thread. */
class ToDeviceWorker : public PromiseWorker {
 public:
  ToDeviceWorker(Napi::Env env, at::Tensor source, std::string device)
      : PromiseWorker(env), source_(std::move(source)), device_(std::move(device)) {}

 protected:
  void run() override { result_ = source_.to(resolveDevice(device_)); }
  Napi::Value result(Napi::Env env) override { return TensorWrap::wrap(env, std::move(result_)); }

 private:
  at::Tensor source_;  // a reference of its own: stays valid if the JS Tensor is disposed
  std::string device_;
  at::Tensor result_;
};

}  // namespace

Napi::Function TensorWrap::define(Napi::Env env) {
  Napi::Function cls = DefineClass(env, "Tensor",
                                   {
                                       InstanceAccessor<&TensorWrap::shape>("shape"),
                                       InstanceAccessor<&TensorWrap::dtype>("dtype"),
                                       InstanceAccessor<&TensorWrap::device>("device"),
                                       InstanceAccessor<&TensorWrap::numel>("numel"),
                                       InstanceAccessor<&TensorWrap::disposed>("disposed"),
                                       InstanceMethod<&TensorWrap::toTypedArray>("toTypedArray"),
                                       InstanceMethod<&TensorWrap::to>("to"),
                                       InstanceMethod<&TensorWrap::dispose>("dispose"),
                                   });
  AddonData::of(env).tensorClass = Napi::Persistent(cls);
  return cls;
}

Napi::Object TensorWrap::wrap(Napi::Env env, at::Tensor tensor) {
  auto external = Napi::External<at::Tensor>::New(env, &tensor);
  // The constructor moves out of `tensor` synchronously, so the External never outlives it.
  return AddonData::of(env).tensorClass.New({external});
}

bool TensorWrap::isTensor(Napi::Env env, const Napi::Value& value) {
  return value.IsObject() && value.As<Napi::Object>().InstanceOf(AddonData::of(env).tensorClass.Value());
}

at::Tensor TensorWrap::unwrap(Napi::Env env, const Napi::Value& value, const char* argName) {
  if (!isTensor(env, value)) throwExpected(env, argName, "a Tensor", value);
  return Unwrap(value.As<Napi::Object>())->live(env);
}

TensorWrap::TensorWrap(const Napi::CallbackInfo& args) : Napi::ObjectWrap<TensorWrap>(args) {
  Napi::Env env = args.Env();
  guarded(env, [&] {
    liveCounter_ = AddonData::of(env).liveTensors;
    if (args.Length() == 1 && args[0].IsExternal()) {
      adopt(env, std::move(*args[0].As<Napi::External<at::Tensor>>().Data()));
      return;
    }
    // new Tensor(typedArray, shape, dtype?)
    if (args.Length() < 2 || !args[0].IsTypedArray()) {
      throwInvalidArg(env, "expected new Tensor(data: TypedArray, shape: number[], dtype?: string)");
    }
    Napi::TypedArray data = args[0].As<Napi::TypedArray>();
    std::optional<DType> dtype = defaultDtypeFor(data.TypedArrayType());
    if (args.Length() > 2 && !args[2].IsUndefined()) {
      if (!args[2].IsString()) throwInvalidArg(env, "expected dtype to be a string");
      const std::string name = args[2].As<Napi::String>().Utf8Value();
      dtype = dtypeFromName(name);
      if (!dtype) {
        throwInvalidArg(env, "expected dtype float32, float64, int64, int32, uint8 or bool but received '" +
                                 name + "'");
      }
    }
    if (!dtype || !typedArrayMatches(data.TypedArrayType(), *dtype)) {
      throwInvalidArg(env, std::string("expected data of type ") +
                               (dtype ? typedArrayNameFor(*dtype) : "Float32Array, Float64Array, BigInt64Array, Int32Array or Uint8Array") +
                               (dtype ? std::string(" for dtype ") + dtypeName(*dtype) : std::string()) +
                               " but received " + typedArrayName(data.TypedArrayType()));
    }
    const std::vector<int64_t> shape = readShape(env, args[1]);
    const auto* bytes = static_cast<const uint8_t*>(data.ArrayBuffer().Data()) + data.ByteOffset();
    adopt(env, tensorFromBytes(bytes, data.ByteLength(), shape, *dtype));
  });
}

TensorWrap::~TensorWrap() {
  // A finalizer may run during environment teardown, when Node-API calls are no longer safe:
  // only the counter (which this object co-owns) is touched there.
  release(/*adjustExternalMemory=*/false);
}

void TensorWrap::adopt(Napi::Env env, at::Tensor tensor) {
  tensor_ = std::move(tensor);
  owns_ = true;
  liveCounter_->fetch_add(1);
  // Tell V8 how much memory this small object really holds, so the GC runs finalizers in time.
  externalBytes_ = tensor_.device().is_cpu() ? static_cast<int64_t>(tensor_.nbytes()) : 0;
  if (externalBytes_ > 0) Napi::MemoryManagement::AdjustExternalMemory(env, externalBytes_);
}

void TensorWrap::release(bool adjustExternalMemory) {
  if (!owns_) return;
  owns_ = false;
  tensor_ = at::Tensor();
  liveCounter_->fetch_sub(1);
  if (adjustExternalMemory && externalBytes_ > 0) {
    Napi::MemoryManagement::AdjustExternalMemory(Env(), -externalBytes_);
  }
  externalBytes_ = 0;
}

const at::Tensor& TensorWrap::live(Napi::Env env) const {
  if (!owns_) {
    throw makeError(env, {"ERR_DISPOSED", "this Tensor was disposed; create a new one"});
  }
  return tensor_;
}

Napi::Value TensorWrap::shape(const Napi::CallbackInfo& args) {
  return guarded(args.Env(), [&]() -> Napi::Value {
    const at::Tensor& t = live(args.Env());
    Napi::Array out = Napi::Array::New(args.Env(), t.dim());
    for (int64_t i = 0; i < t.dim(); ++i) out.Set(static_cast<uint32_t>(i), static_cast<double>(t.size(i)));
    return out;
  });
}

Napi::Value TensorWrap::dtype(const Napi::CallbackInfo& args) {
  return guarded(args.Env(), [&]() -> Napi::Value {
    return Napi::String::New(args.Env(), jsViewOf(live(args.Env())).dtype);
  });
}

Napi::Value TensorWrap::device(const Napi::CallbackInfo& args) {
  return guarded(args.Env(), [&]() -> Napi::Value {
    return Napi::String::New(args.Env(), deviceName(live(args.Env()).device()));
  });
}

Napi::Value TensorWrap::numel(const Napi::CallbackInfo& args) {
  return guarded(args.Env(), [&]() -> Napi::Value {
    return Napi::Number::New(args.Env(), static_cast<double>(live(args.Env()).numel()));
  });
}

Napi::Value TensorWrap::disposed(const Napi::CallbackInfo& args) {
  return Napi::Boolean::New(args.Env(), !owns_);
}

Napi::Value TensorWrap::toTypedArray(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    const at::Tensor& t = live(env);
    if (!t.device().is_cpu()) {
      throw makeError(env, {"ERR_INVALID_ARG",
                            "toTypedArray() reads CPU tensors only; this one is on " +
                                deviceName(t.device()) + ": use `await tensor.to('cpu')` first"});
    }
    const JsView view = jsViewOf(t);
    // Defence in depth: the sizes are checked again here (the readers check them first), so a
    // TypedArray is never created longer than V8 allows or larger than the tensor's storage.
    const int64_t numel = t.numel();
    const uint64_t itemSize = c10::elementSize(view.element);
    uint64_t byteLength = 0;
    if (numel < 0 || static_cast<uint64_t>(numel) > kMaxTypedArrayLength ||
        __builtin_mul_overflow(static_cast<uint64_t>(numel), itemSize, &byteLength)) {
      throw makeError(env, {"ERR_INVALID_ARG", "toTypedArray(): a tensor of " + std::to_string(numel) +
                                                   " elements does not fit a JS TypedArray (at most " +
                                                   std::to_string(kMaxTypedArrayLength) +
                                                   " elements); process it in native code or in slices"});
    }
    if (t.has_storage() && t.is_contiguous() && numel > 0) {
      uint64_t end = 0;
      const uint64_t sourceItem = c10::elementSize(t.scalar_type());
      if (t.storage_offset() < 0 ||
          __builtin_mul_overflow(static_cast<uint64_t>(t.storage_offset()) + static_cast<uint64_t>(numel), sourceItem, &end) ||
          end > t.storage().nbytes()) {
        throw makeError(env, {"ERR_INTERNAL", "toTypedArray(): the tensor's shape " + shapeString(t.sizes()) +
                                                  " reaches beyond its storage of " + std::to_string(t.storage().nbytes()) +
                                                  " bytes; please report this"});
      }
    }
    at::Tensor host = t.scalar_type() == view.element || t.scalar_type() == c10::ScalarType::Bool
                          ? t
                          : t.to(view.element);
    host = host.contiguous();
    Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, static_cast<size_t>(byteLength));
    if (byteLength > 0) std::memcpy(buffer.Data(), host.data_ptr(), static_cast<size_t>(byteLength));
    const size_t length = static_cast<size_t>(numel);
    switch (view.array) {
      case napi_float32_array: return Napi::Float32Array::New(env, length, buffer, 0);
      case napi_float64_array: return Napi::Float64Array::New(env, length, buffer, 0);
      case napi_bigint64_array: return Napi::TypedArrayOf<int64_t>::New(env, length, buffer, 0, napi_bigint64_array);
      case napi_int32_array: return Napi::Int32Array::New(env, length, buffer, 0);
      case napi_int16_array: return Napi::Int16Array::New(env, length, buffer, 0);
      case napi_int8_array: return Napi::Int8Array::New(env, length, buffer, 0);
      default: return Napi::Uint8Array::New(env, length, buffer, 0);
    }
  });
}

Napi::Value TensorWrap::to(const Napi::CallbackInfo& args) {
  Napi::Env env = args.Env();
  return guarded(env, [&]() -> Napi::Value {
    std::string device = JsArgs(args).string(0, "device");
    return startWorker(new ToDeviceWorker(env, live(env), std::move(device)));
  });
}

Napi::Value TensorWrap::dispose(const Napi::CallbackInfo& args) {
  release(/*adjustExternalMemory=*/true);
  return args.Env().Undefined();
}

}  // namespace imlm::bridge

/** Creating tensors from JavaScript data. */
import { validate } from './config/validate';
import { deviceSchema, shapeSchema, tensorOptionsSchema } from './config/schemas';
import { ImlmError } from './errors';
import { native, type DType, type FileDType, type NativeTensor, type TensorData } from './native';

export type Tensor = NativeTensor;
export type { DType, FileDType, TensorData };

export interface TensorOptions {
  /** Element type; defaults to the TypedArray's own (Uint8Array may also be read as 'bool'). */
  dtype?: DType;
}

function isTypedArray(value: unknown): value is TensorData {
  return ArrayBuffer.isView(value) && !(value instanceof DataView);
}

/**
 * A CPU tensor holding a copy of `data` with the given shape. Throws ERR_INVALID_ARG when the
 * shape does not match the data's length or the dtype does not match the array type.
 *
 * ```ts
 * const t = tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
 * t.toTypedArray(); // Float32Array [1, 2, 3, 4, 5, 6]
 * t.dispose();
 * ```
 */
export function tensor(data: TensorData, shape: readonly number[], options?: TensorOptions): Tensor {
  if (!isTypedArray(data)) {
    throw new ImlmError(
      `Expected a TypedArray (Float32Array, Float64Array, BigInt64Array, Int32Array, Uint8Array) for data but received ${typeof data}`,
      'ERR_INVALID_ARG',
    );
  }
  const dims = validate<number[]>(shapeSchema, shape, 'shape');
  const opts = validate<TensorOptions>(tensorOptionsSchema, options, 'options');
  const Tensor = native().Tensor;
  return new Tensor(data, dims, opts.dtype);
}

/** Validates a device string before it reaches native code. */
export function checkDevice(device: string, what = 'device'): string {
  return validate<string>(deviceSchema, device, what);
}

/** Tensors created and not yet freed in this thread (for leak checks). */
export function liveTensorCount(): number {
  return native().liveTensorCount();
}

// The Tensor class across the N-API boundary, on the real addon and LibTorch.
import { Worker } from 'worker_threads';
import { tensor, liveTensorCount, ImlmError, type DType, type TensorData } from '../../lib';
import { repoRoot, runNode } from '../helpers/run';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ImlmError);
    return (e as ImlmError).code;
  }
  return undefined;
}

/** A numeric TypedArray's elements (every dtype but int64). */
const values = (a: ArrayLike<number | bigint>): number[] => Array.from(a as ArrayLike<number>);

const samples: Array<[DType, TensorData]> = [
  ['float32', new Float32Array([0, -0, 1.5, -3.25, Number.MAX_VALUE > 3.4e38 ? 3.4e38 : 1, Infinity, -Infinity, NaN])],
  ['float64', new Float64Array([0, -0, Math.PI, -1e300, 5e-324, Infinity, NaN, 1 / 3])],
  ['int64', new BigInt64Array([0n, -1n, 2n ** 62n, -(2n ** 63n), 2n ** 63n - 1n, 7n, 8n, 9n])],
  ['int32', new Int32Array([0, -1, 2147483647, -2147483648, 5, 6, 7, 8])],
  ['uint8', new Uint8Array([0, 1, 127, 128, 254, 255, 3, 4])],
];

describe('Tensor', () => {
  test.each(samples)('%s round-trips bit-exactly with shape and dtype', (dtype, data) => {
    const t = tensor(data, [2, 4]);
    expect(t.shape).toEqual([2, 4]);
    expect(t.dtype).toBe(dtype);
    expect(t.device).toBe('cpu');
    expect(t.numel).toBe(8);
    const back = t.toTypedArray();
    // Compared by name: jest runs tests in their own realm, the addon builds arrays in Node's.
    expect(back.constructor.name).toBe(data.constructor.name);
    expect(Buffer.from(back.buffer, back.byteOffset, back.byteLength)).toEqual(
      Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    );
    t.dispose();
  });

  test('bool reads any non-zero byte as true and returns 0/1', () => {
    const t = tensor(new Uint8Array([0, 1, 2, 255]), [4], { dtype: 'bool' });
    expect(t.dtype).toBe('bool');
    expect(Array.from(t.toTypedArray() as Uint8Array)).toEqual([0, 1, 1, 1]);
    t.dispose();
  });

  test('a 1e6-element float32 tensor round-trips bit-exactly', () => {
    const n = 1_000_000;
    const bits = new Uint32Array(n);
    let x = 0x9e3779b9;
    for (let i = 0; i < n; i++) {
      x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; // xorshift: every bit pattern incl. NaNs
      bits[i] = x;
    }
    const data = new Float32Array(bits.buffer);
    const t = tensor(data, [1000, 1000]);
    const back = t.toTypedArray() as Float32Array;
    expect(Buffer.compare(Buffer.from(back.buffer), Buffer.from(bits.buffer))).toBe(0);
    t.dispose();
  });

  test('a view into a larger buffer copies only its own elements', () => {
    const whole = new Float32Array([9, 1, 2, 3, 9]);
    const t = tensor(whole.subarray(1, 4), [3]);
    expect(values(t.toTypedArray())).toEqual([1, 2, 3]);
    whole[2] = 100; // the tensor holds a copy
    expect(values(t.toTypedArray())).toEqual([1, 2, 3]);
    t.dispose();
  });

  test('zero-sized and scalar shapes', () => {
    const empty = tensor(new Float32Array(0), [0, 3]);
    expect(empty.shape).toEqual([0, 3]);
    expect(empty.toTypedArray().length).toBe(0);
    const scalar = tensor(new Float64Array([2.5]), []);
    expect(scalar.shape).toEqual([]);
    expect(values(scalar.toTypedArray())).toEqual([2.5]);
    empty.dispose();
    scalar.dispose();
  });

  describe('bad input throws ImlmError with a code and a message that says what to do', () => {
    test('shape that does not match the data', () => {
      let err: ImlmError | undefined;
      try {
        tensor(new Float32Array(5), [2, 3]);
      } catch (e) {
        err = e as ImlmError;
      }
      expect(err?.code).toBe('ERR_INVALID_ARG');
      expect(err?.message).toBe(
        'shape [2, 3] needs 6 float32 elements but the data holds 5; pass a shape whose product equals the array length',
      );
    });

    test('dtype that does not match the array type', () => {
      let err: ImlmError | undefined;
      try {
        tensor(new Float32Array(6), [6], { dtype: 'int32' });
      } catch (e) {
        err = e as ImlmError;
      }
      expect(err?.code).toBe('ERR_INVALID_ARG');
      expect(err?.message).toBe('expected data of type Int32Array for dtype int32 but received Float32Array');
    });

    test('unsupported arrays, negative dims, unknown dtypes, non-arrays', () => {
      expect(codeOf(() => tensor(new Int16Array(4) as unknown as Int32Array, [4]))).toBe('ERR_INVALID_ARG');
      expect(codeOf(() => tensor(new Float32Array(4), [-4]))).toBe('ERR_INVALID_ARG');
      expect(codeOf(() => tensor(new Float32Array(4), [4], { dtype: 'half' as DType }))).toBe('ERR_INVALID_ARG');
      expect(codeOf(() => tensor([1, 2] as unknown as Float32Array, [2]))).toBe('ERR_INVALID_ARG');
    });

    test('the native class checks its arguments too (no TypeScript in front)', () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { native } = require('../../lib/native');
      const Tensor = native().Tensor;
      expect(codeOf(() => new Tensor(new Float32Array(2), 'nope'))).toBe('ERR_INVALID_ARG');
      expect(codeOf(() => new Tensor(new Float32Array(2), [1.5]))).toBe('ERR_INVALID_ARG');
      expect(codeOf(() => new Tensor('x', [1]))).toBe('ERR_INVALID_ARG');
    });

    test('use after dispose', () => {
      const t = tensor(new Float32Array(2), [2]);
      t.dispose();
      expect(t.disposed).toBe(true);
      expect(codeOf(() => t.shape)).toBe('ERR_DISPOSED');
      expect(codeOf(() => t.toTypedArray())).toBe('ERR_DISPOSED');
      expect(() => t.dispose()).not.toThrow(); // idempotent
    });
  });

  describe('to(device)', () => {
    test('to("cpu") resolves to a new, equal tensor', async () => {
      const t = tensor(new Int32Array([1, 2, 3]), [3]);
      const copy = await t.to('cpu');
      expect(copy).not.toBe(t);
      expect(values(copy.toTypedArray())).toEqual([1, 2, 3]);
      t.dispose();
      copy.dispose();
    });

    test('a malformed device rejects with ERR_INVALID_ARG', async () => {
      const t = tensor(new Float32Array(1), [1]);
      await expect(t.to('gpu')).rejects.toMatchObject({ code: 'ERR_INVALID_ARG', message: expect.stringContaining("'gpu'") });
      t.dispose();
    });

    test('CUDA on a machine without it rejects with ERR_DEVICE_UNAVAILABLE', async () => {
      const { info } = await import('../../lib');
      const i = await info();
      if (i.cuda.available) return; // covered by scripts/gpu-check.sh on CUDA machines
      const t = tensor(new Float32Array(1), [1]);
      await expect(t.to('cuda:0')).rejects.toMatchObject({ code: 'ERR_DEVICE_UNAVAILABLE', name: 'ImlmError' });
      t.dispose();
    });
  });

  describe('memory', () => {
    test('10,000 create/dispose cycles leave the live counter where it was and RSS within 5%', () => {
      const data = new Float32Array(16384); // 64 KiB a tensor: 640 MiB if nothing were freed
      const cycle = () => {
        const t = tensor(data, [128, 128]);
        t.dispose();
      };
      for (let i = 0; i < 1000; i++) cycle(); // warm up allocators
      // Garbage of earlier tests (this file may run first or after others in one process) is
      // collected before each reading, so RSS moves only with what the cycles keep.
      const collect = () => (globalThis as { gc?: () => void }).gc?.();
      collect();
      const start = liveTensorCount();
      const rssBefore = process.memoryUsage().rss;
      for (let i = 0; i < 10_000; i++) cycle();
      collect();
      const rssAfter = process.memoryUsage().rss;
      expect(liveTensorCount()).toBe(start);
      // Under AddressSanitizer (npm run test:asan) freed memory waits in ASan's quarantine, so
      // RSS says nothing there; ASan itself reports any use after free or double free.
      const sanitized = (process.env.LD_PRELOAD ?? '').includes('libasan');
      if (!sanitized) expect(Math.abs(rssAfter - rssBefore) / rssBefore).toBeLessThan(0.05);
    });

    test('tensors never disposed are freed by the finalizer (real GC, separate process)', async () => {
      const script = `
        const b = require('node-gyp-build')(${JSON.stringify(repoRoot)});
        const start = b.liveTensorCount();
        (function make() { for (let i = 0; i < 2000; i++) new b.Tensor(new Float32Array(256), [256]); })();
        const peak = b.liveTensorCount();
        (async () => {
          for (let i = 0; i < 50 && b.liveTensorCount() !== start; i++) {
            global.gc();
            await new Promise((r) => setImmediate(r));
          }
          console.log(JSON.stringify({ start, peak, end: b.liveTensorCount() }));
        })();`;
      const r = await runNode(['--expose-gc', '-e', script]);
      expect(r.code).toBe(0);
      const counts = JSON.parse(r.stdout);
      expect(counts.peak - counts.start).toBe(2000);
      expect(counts.end).toBe(counts.start);
    });
  });

  test('the addon loads and works in a worker thread (per-environment state)', async () => {
    const code = `
      const { parentPort } = require('worker_threads');
      const b = require('node-gyp-build')(${JSON.stringify(repoRoot)});
      const t = new b.Tensor(new Float64Array([4, 5]), [2]);
      let code;
      try { new b.Tensor(new Float64Array(1), [3]); } catch (e) { code = e.code; }
      parentPort.postMessage({ values: Array.from(t.toTypedArray()), live: b.liveTensorCount(), code });`;
    const result = await new Promise<{ values: number[]; live: number; code: string }>((resolve, reject) => {
      const w = new Worker(code, { eval: true });
      w.once('message', resolve);
      w.once('error', reject);
    });
    expect(result).toEqual({ values: [4, 5], live: 1, code: 'ERR_INVALID_ARG' });
  });
});

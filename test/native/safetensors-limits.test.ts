// The safetensors reader against crafted files: sizes that wrap around 2^64, too many
// dimensions or tensors, names no JS object can hold, repeated keys, invalid UTF-8, and the
// dtypes JS reads but cannot create (docs/formats.md, "safetensors"; docs/api.md). Every refusal
// is an ERR_FORMAT naming the file, through both readers and through loadSplit.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import os from 'os';
import path from 'path';
import { readSafetensors, tensor, writeSafetensors } from '../../lib';
import { prepareImages } from '../../lib/data/prepare-images';
import { loadSplit } from '../../lib/data/store';
import { uniformImage } from '../data/fixtures';

// The 1,000,000-tensor header is ~56 MB of garbage: collect it here (jest runs with --expose-gc),
// so later test files in this process (test/native/tensor.test.ts measures RSS) do not see it go.
afterAll(() => (global as { gc?: () => void }).gc?.());

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'imlm-st-limits-'));

/** A safetensors file from a header (an object, or raw JSON text for what objects cannot say) and data. */
function craft(file: string, header: object | string, data: Buffer = Buffer.alloc(0)): string {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(file, Buffer.concat([length, json, data]));
  return file;
}

/** The overflow shapes the fuzzer found: element count × element size wraps to a small span. */
const overflowShapes = [
  // 2305843009213720412 = 2^61 + 26460; × 8 bytes = 2^64 + 211680
  { dtype: 'I64', shape: [2305843009213720412n, 1n], span: 211680 },
  // 4611686018427388444 = 2^62 + 540; × 4 bytes = 2^64 + 2160
  { dtype: 'F32', shape: [4611686018427388444n], span: 2160 },
];

/** Shapes whose every dimension is a safe integer but whose byte size wraps all the same. */
const wrappingProducts = [
  // 128053 × 18006942509849 = 2^61 + 141; × 8 bytes = 2^64 + 360
  { dtype: 'I64', shape: [128053n, 18006942509849n], span: 360 },
  // 4999 × 922521708027083 = 2^62 + 13; × 4 bytes = 2^64 + 52
  { dtype: 'F32', shape: [4999n, 922521708027083n], span: 52 },
];

/** JSON for a shape whose entries are beyond 2^53 (JSON.stringify cannot write BigInts). */
function entryJson(dtype: string, shape: bigint[], begin: number, end: number): string {
  return `{"dtype":"${dtype}","shape":[${shape.join(',')}],"data_offsets":[${begin},${end}]}`;
}

async function expectRefused(file: string, message: string | RegExp): Promise<void> {
  for (const mmap of [false, true]) {
    await expect(readSafetensors(file, { mmap })).rejects.toMatchObject({
      code: 'ERR_FORMAT',
      message: typeof message === 'string' ? expect.stringContaining(message) : expect.stringMatching(message),
    });
    await expect(readSafetensors(file, { mmap })).rejects.toMatchObject({ message: expect.stringContaining(file) });
  }
}

describe('sizes that overflow 64 bits are refused', () => {
  test.each(overflowShapes)('$dtype $shape spanning $span bytes, both readers', async ({ dtype, shape, span }) => {
    const file = craft(path.join(tmp(), 'overflow.safetensors'), `{"x":${entryJson(dtype, shape, 0, span)}}`, Buffer.alloc(span));
    await expectRefused(file, "tensor 'x'");
  });

  test.each(wrappingProducts)('$dtype $shape spanning $span bytes: the byte size is checked for overflow', async ({ dtype, shape, span }) => {
    const file = craft(path.join(tmp(), 'wrap.safetensors'), `{"x":${entryJson(dtype, shape, 0, span)}}`, Buffer.alloc(span));
    await expectRefused(file, `tensor 'x' with shape [${shape.join(', ')}] and dtype ${dtype} holds`);
    await expectRefused(file, 'more than the data section');
  });

  test('a shape whose strides overflow is refused even when it holds no elements', async () => {
    const file = craft(path.join(tmp(), 'zero.safetensors'), `{"x":${entryJson('F32', [0n, 4294967296n, 4294967296n], 0, 0)}}`);
    await expectRefused(file, 'overflows 64 bits');
    const big = craft(path.join(tmp(), 'big.safetensors'), `{"x":${entryJson('F32', [0n, 9007199254740992n], 0, 0)}}`);
    await expectRefused(big, 'not an integer in 0..9007199254740991');
  });

  test.each(overflowShapes)('loadSplit refuses a shard whose images are $dtype $shape', async ({ dtype, shape, span }) => {
    const src = tmp();
    await Promise.all(Array.from({ length: 4 }, (_, i) => uniformImage(path.join(src, i % 2 ? 'a' : 'b', `${i}.png`), 4, 4, 1, i)));
    const store = path.join(tmp(), 's');
    await prepareImages('folder', src, store, { size: 4, shares: { train: 1, val: 0, test: 0 }, channels: 1 });
    const copy = path.join(tmp(), 'c');
    cpSync(store, copy, { recursive: true });
    const shard = path.join(copy, 'train.safetensors');
    // Rewrite the shard with the same tensors, images replaced by the overflow shape.
    const bytes = readFileSync(shard);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
    const data = bytes.subarray(8 + headerLength);
    const parts: string[] = [`"__metadata__":${JSON.stringify(header.__metadata__)}`];
    const chunks: Buffer[] = [];
    let offset = 0;
    for (const name of ['ids', 'images', 'labels', 'patients'].filter((n) => header[n])) {
      const e = header[name];
      const chunk = name === 'images' ? Buffer.alloc(span) : data.subarray(e.data_offsets[0], e.data_offsets[1]);
      const entry = name === 'images' ? entryJson(dtype, shape, offset, offset + span) : JSON.stringify({ ...e, data_offsets: [offset, offset + chunk.length] });
      parts.push(`"${name}":${entry}`);
      chunks.push(chunk);
      offset += chunk.length;
    }
    craft(shard, `{${parts.join(',')}}`, Buffer.concat(chunks));
    const refusal = loadSplit(copy, 'train');
    await expect(refusal).rejects.toMatchObject({ code: 'ERR_FORMAT', message: expect.stringContaining(shard) });
    await expect(loadSplit(copy, 'train')).rejects.toMatchObject({ message: expect.stringContaining("tensor 'images'") });
    await expect(loadSplit(copy, 'train')).rejects.toMatchObject({ message: expect.not.stringContaining('disagrees with') });
  });
});

describe('limits on the header', () => {
  test('more than 16 dimensions are refused; 16 are read', async () => {
    const dir = tmp();
    const shape = (n: number) => new Array(n).fill(1);
    await expectRefused(
      craft(path.join(dir, '17.safetensors'), { x: { dtype: 'U8', shape: shape(17), data_offsets: [0, 1] } }, Buffer.alloc(1)),
      'has 17 dimensions; at most 16',
    );
    const ok = craft(path.join(dir, '16.safetensors'), { x: { dtype: 'U8', shape: shape(16), data_offsets: [0, 1] } }, Buffer.from([7]));
    for (const mmap of [false, true]) {
      const { tensors } = await readSafetensors(ok, { mmap });
      expect(tensors.x.shape).toEqual(shape(16));
      expect(Array.from(tensors.x.toTypedArray() as Uint8Array)).toEqual([7]);
      tensors.x.dispose();
    }
  });

  test('a header of 1,000,000 empty tensors is refused, naming the limit of 65536', async () => {
    const parts: string[] = [];
    for (let i = 0; i < 1_000_000; i++) parts.push(`"t${i}":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}`);
    const file = craft(path.join(tmp(), 'many.safetensors'), `{${parts.join(',')}}`);
    await expectRefused(file, 'header declares more than 65536 tensors; a file may hold at most 65536 tensors');
  });

  test('65536 empty tensors, the limit, are read', async () => {
    const parts: string[] = [];
    for (let i = 0; i < 65536; i++) parts.push(`"t${i}":{"dtype":"F32","shape":[0, 3],"data_offsets":[0,0]}`);
    const file = craft(path.join(tmp(), 'limit.safetensors'), `{${parts.join(',')}}`);
    const { tensors } = await readSafetensors(file, { mmap: true });
    expect(Object.keys(tensors)).toHaveLength(65536);
    expect(tensors.t65535.shape).toEqual([0, 3]);
    for (const t of Object.values(tensors)) t.dispose();
  });

  test('overlapping data_offsets are refused, naming both tensors', async () => {
    const file = craft(
      path.join(tmp(), 'overlap.safetensors'),
      { a: { dtype: 'U8', shape: [4], data_offsets: [0, 4] }, b: { dtype: 'U8', shape: [4], data_offsets: [2, 6] } },
      Buffer.alloc(6),
    );
    await expectRefused(file, "tensors 'a' and 'b' overlap");
  });
});

describe('names', () => {
  test("a tensor named '__proto__' is refused, in the header and in the metadata", async () => {
    const dir = tmp();
    await expectRefused(
      craft(path.join(dir, 'proto.safetensors'), '{"__proto__":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', Buffer.alloc(4)),
      "tensor name '__proto__' is refused",
    );
    await expectRefused(craft(path.join(dir, 'meta.safetensors'), '{"__metadata__":{"__proto__":"x"}}'), "metadata key '__proto__' is refused");
    // Nor can it be written: the file would not read back.
    const t = tensor(new Float32Array([1]), [1]);
    const named = Object.defineProperty({}, '__proto__', { value: t, enumerable: true });
    await expect(writeSafetensors(path.join(dir, 'w.safetensors'), named)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    t.dispose();
  });

  test('duplicate tensor names and duplicate metadata keys are refused', async () => {
    const dir = tmp();
    const e = '{"dtype":"U8","shape":[1],"data_offsets":[0,1]}';
    await expectRefused(craft(path.join(dir, 'dup.safetensors'), `{"a":${e},"b":{"dtype":"U8","shape":[0],"data_offsets":[1,1]},"a":${e}}`, Buffer.alloc(1)), 'duplicate key "a"');
    await expectRefused(craft(path.join(dir, 'meta.safetensors'), '{"__metadata__":{"k":"1","k":"2"}}'), 'duplicate key "k"');
    await expectRefused(craft(path.join(dir, 'meta2.safetensors'), '{"__metadata__":{},"__metadata__":{}}'), 'duplicate key "__metadata__"');
  });

  test('names that are not valid UTF-8 or hold lone surrogates are refused; NUL bytes survive', async () => {
    const dir = tmp();
    const e = '{"dtype":"U8","shape":[0],"data_offsets":[0,0]}';
    const invalid = Buffer.concat([Buffer.from('{"a'), Buffer.from([0xff]), Buffer.from(`":${e}}`)]);
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(invalid.length));
    const bad = path.join(dir, 'utf8.safetensors');
    writeFileSync(bad, Buffer.concat([length, invalid]));
    await expectRefused(bad, 'invalid UTF-8');
    await expectRefused(craft(path.join(dir, 'sur.safetensors'), `{"\\udc00":${e},"\\udc01":${e}}`), 'lone surrogate');
    const nul = craft(path.join(dir, 'nul.safetensors'), `{"a\\u0000b":${e},"a\\u0000c":${e}}`);
    const { tensors } = await readSafetensors(nul);
    expect(Object.keys(tensors).sort()).toEqual(['a\u0000b', 'a\u0000c']);
    for (const t of Object.values(tensors)) t.dispose();
  });
});

describe('dtypes JS reads but cannot create', () => {
  // bfloat16 bits of 1, -2.5, 0.1 (rounded: 0.10009765625), +Inf, NaN; float16 bits of 1, -2.5,
  // 0.1 (rounded: 0.0999755859375), 65504, the smallest subnormal 2^-24.
  const bf16 = [0x3f80, 0xc020, 0x3dcd, 0x7f80, 0x7fc0];
  const bf16Values = [1, -2.5, 0.10009765625, Infinity, NaN];
  const f16 = [0x3c00, 0xc100, 0x2e66, 0x7bff, 0x0001];
  const f16Values = [1, -2.5, 0.0999755859375, 65504, 2 ** -24];

  test('bfloat16 and float16 read as Float32Array with exact values; int16 and int8 as their arrays; both readers', async () => {
    const data = Buffer.alloc(10 + 10 + 4 + 2 + 1);
    bf16.forEach((b, i) => data.writeUInt16LE(b, 2 * i));
    f16.forEach((b, i) => data.writeUInt16LE(b, 10 + 2 * i));
    data.writeInt16LE(-300, 20);
    data.writeInt16LE(32767, 22);
    data.writeInt8(-128, 24);
    data.writeInt8(127, 25);
    data[26] = 2; // a BOOL byte that is neither 0 nor 1 reads as true
    const file = craft(
      path.join(tmp(), 'half.safetensors'),
      {
        b: { dtype: 'BF16', shape: [5], data_offsets: [0, 10] },
        h: { dtype: 'F16', shape: [5], data_offsets: [10, 20] },
        s: { dtype: 'I16', shape: [2], data_offsets: [20, 24] },
        c: { dtype: 'I8', shape: [2], data_offsets: [24, 26] },
        z: { dtype: 'BOOL', shape: [1], data_offsets: [26, 27] },
      },
      data,
    );
    for (const mmap of [false, true]) {
      const { tensors } = await readSafetensors(file, { mmap });
      expect([tensors.b.dtype, tensors.h.dtype, tensors.s.dtype, tensors.c.dtype, tensors.z.dtype]).toEqual(['bfloat16', 'float16', 'int16', 'int8', 'bool']);
      const b = tensors.b.toTypedArray();
      const h = tensors.h.toTypedArray();
      // (jest runs tests in another realm: compare the class by its tag, not instanceof)
      expect(Object.prototype.toString.call(b)).toBe('[object Float32Array]');
      expect(Object.prototype.toString.call(h)).toBe('[object Float32Array]');
      expect(Array.from(b as Float32Array)).toEqual(bf16Values);
      expect(Array.from(h as Float32Array)).toEqual(f16Values);
      const s = tensors.s.toTypedArray();
      const c = tensors.c.toTypedArray();
      expect(Object.prototype.toString.call(s)).toBe('[object Int16Array]');
      expect(Object.prototype.toString.call(c)).toBe('[object Int8Array]');
      expect(Array.from(s as Int16Array)).toEqual([-300, 32767]);
      expect(Array.from(c as Int8Array)).toEqual([-128, 127]);
      expect(Array.from(tensors.z.toTypedArray() as Uint8Array)).toEqual([1]);
      // Written back unchanged: the same bits, the same dtypes.
      const again = path.join(path.dirname(file), `again-${mmap}.safetensors`);
      await writeSafetensors(again, tensors);
      const back = await readSafetensors(again);
      expect(back.tensors.b.dtype).toBe('bfloat16');
      const raw = readFileSync(again);
      const header = JSON.parse(raw.subarray(8, 8 + Number(raw.readBigUInt64LE(0))).toString('utf8'));
      expect(header.b.dtype).toBe('BF16');
      expect(header.h.dtype).toBe('F16');
      const start = 8 + Number(raw.readBigUInt64LE(0));
      expect(raw.subarray(start + header.b.data_offsets[0], start + header.b.data_offsets[1])).toEqual(data.subarray(0, 10));
      expect(raw.subarray(start + header.h.data_offsets[0], start + header.h.data_offsets[1])).toEqual(data.subarray(10, 20));
      for (const t of [...Object.values(tensors), ...Object.values(back.tensors)]) t.dispose();
    }
  });
});

// In-memory embedding (loadEncoder / Encoder.embed): the same features as the `embed` command's
// file for the same images (uint8, float, Tensor, [N, H, W]), off the event loop, and coded
// errors for bad inputs. Real LibTorch, real checkpoint files, a tiny ResNet-18.
import path from 'path';
import os from 'os';
import { monitorEventLoopDelay } from 'perf_hooks';
import { embed, loadEncoder, readSafetensors, Trainer, tensor, type Encoder, type Tensor } from '../../lib';
import { settledLiveTensorCount } from '../helpers/live-tensors';
import { rejection } from '../helpers/rejection';
import { tinyConfig } from '../helpers/configs';
import { writeCheckpoints, writeSyntheticStore } from './fixtures';

const kBlocks = ['block1', 'block2', 'block3', 'block4'] as const;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function readArrays(file: string): Promise<Record<string, { shape: number[]; data: ArrayLike<number> }>> {
  const { tensors } = await readSafetensors(file);
  const out = Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, { shape: t.shape, data: t.toTypedArray() as unknown as ArrayLike<number> }]));
  for (const t of Object.values(tensors)) t.dispose();
  return out;
}

function values(t: Tensor | null | undefined): Float32Array {
  if (!t) throw new Error('expected a tensor');
  return t.toTypedArray() as Float32Array;
}

function disposeAll(...ts: Array<Tensor | null | undefined>): void {
  for (const t of ts) t?.dispose();
}

let dir: string;
let store: string;
let checkpoints: { state: string; backbone: string };
/** The store's test split, as the features file computed by `embed` holds it. */
let file: Record<string, { shape: number[]; data: ArrayLike<number> }>;
/** The split's images, U8 [30, 1, 8, 8]. */
let pixels: Uint8Array;
let enc: Encoder;

beforeAll(async () => {
  dir = os.tmpdir(); // one folder per test file (test/helpers/temp-per-file.ts)
  store = path.join(dir, 'store');
  await writeSyntheticStore(store, { counts: { train: 20, val: 10, test: 30 } });
  checkpoints = await writeCheckpoints(dir);
  const out = path.join(dir, 'test-features.safetensors');
  await embed({ checkpoint: checkpoints.state, store, split: 'test', out, device: 'cpu' });
  file = await readArrays(out);
  const shard = await readSafetensors(path.join(store, 'test.safetensors'));
  pixels = shard.tensors.images.toTypedArray() as Uint8Array;
  expect(shard.tensors.images.shape).toEqual([30, 1, 8, 8]);
  for (const t of Object.values(shard.tensors)) t.dispose();
  enc = await loadEncoder(checkpoints.state, { device: 'cpu' });
});

afterAll(() => enc?.dispose());

describe('Encoder.embed equals the embed command\'s features file', () => {
  test('describes the network it loaded', () => {
    expect(enc).toMatchObject({ arch: 'resnet18', stem: 'small', inChannels: 1, hasHead: true, embeddingDim: 32, blockChannels: [64, 128, 256, 512], checkpointKind: 'train-state', device: 'cpu', imageSize: 8, disposed: false });
  });

  test('uint8 images [N, C, H, W]: every block and the embedding exactly', async () => {
    const r = await enc.embed({ data: pixels, shape: [30, 1, 8, 8] }, { blocks: true });
    expect(r.block4.shape).toEqual([30, 512]);
    expect(r.blocks![3]).toBe(r.block4);
    kBlocks.forEach((name, k) => expect(maxAbsDiff(values(r.blocks![k]), file[name].data)).toBe(0));
    expect(r.embedding!.shape).toEqual([30, 32]);
    expect(maxAbsDiff(values(r.embedding), file.embedding.data)).toBe(0);
    disposeAll(...r.blocks!, r.embedding);
  });

  test('float images (x/255) [N, H, W]: within 1e-6', async () => {
    const floats = Float32Array.from(pixels, (v) => v / 255);
    const r = await enc.embed({ data: floats, shape: [30, 8, 8] });
    expect(r.blocks).toBeUndefined();
    const diffs = { block4: maxAbsDiff(values(r.block4), file.block4.data), embedding: maxAbsDiff(values(r.embedding), file.embedding.data) };
    console.log(`float input vs the features file: max |diff| block4 ${diffs.block4}, embedding ${diffs.embedding}`);
    expect(diffs.block4).toBeLessThanOrEqual(1e-6);
    expect(diffs.embedding).toBeLessThanOrEqual(1e-6);
    disposeAll(r.block4, r.embedding);
  });

  test('a Tensor works as well, and stays the caller\'s', async () => {
    const t = tensor(pixels, [30, 1, 8, 8]);
    const r = await enc.embed(t);
    expect(t.disposed).toBe(false);
    expect(maxAbsDiff(values(r.block4), file.block4.data)).toBe(0);
    disposeAll(t, r.block4, r.embedding);
  });

  test('any batch size: N = 1, and batches split internally (batchSize 7) within 1e-5 of one batch', async () => {
    const one = await enc.embed({ data: pixels.subarray(64 * 5, 64 * 6), shape: [1, 1, 8, 8] });
    expect(one.block4.shape).toEqual([1, 512]);
    expect(maxAbsDiff(values(one.block4), Array.from(file.block4.data).slice(512 * 5, 512 * 6))).toBeLessThanOrEqual(1e-5);
    const progress: number[] = [];
    const split = await enc.embed({ data: pixels, shape: [30, 1, 8, 8] }, { batchSize: 7, onProgress: (p) => progress.push(p.done) });
    expect(progress).toEqual([7, 14, 21, 28, 30]);
    expect(maxAbsDiff(values(split.block4), file.block4.data)).toBeLessThanOrEqual(1e-5);
    disposeAll(one.block4, one.embedding, split.block4, split.embedding);
  });

  test('a backbone file: the same blocks, no embedding', async () => {
    const backbone = await loadEncoder(checkpoints.backbone, { device: 'cpu', imageSize: 8 });
    try {
      expect(backbone).toMatchObject({ hasHead: false, embeddingDim: null, checkpointKind: 'backbone' });
      const r = await backbone.embed({ data: pixels, shape: [30, 1, 8, 8] });
      expect(r.embedding).toBeNull();
      expect(maxAbsDiff(values(r.block4), file.block4.data)).toBe(0);
      r.block4.dispose();
    } finally {
      backbone.dispose();
    }
  });

  test('frees every tensor it makes', async () => {
    const before = await settledLiveTensorCount();
    const a = await enc.embed({ data: pixels, shape: [30, 1, 8, 8] });
    const b = await enc.embed({ data: pixels, shape: [30, 1, 8, 8] }, { blocks: true });
    disposeAll(a.block4, a.embedding, ...b.blocks!, b.embedding);
    await rejection(enc.embed({ data: new Float32Array(64).fill(NaN), shape: [1, 1, 8, 8] }));
    expect(await settledLiveTensorCount()).toBe(before);
  });
});

test('the event loop keeps ticking during a multi-second embed', async () => {
  // 32 px (resized from 8), 200 images, one thread: seconds of convolutions on a worker thread
  // (1.5 s per 100 images on the shared 2-core machine; the JS thread keeps the other core).
  const big = await loadEncoder(checkpoints.state, { device: 'cpu', imageSize: 32, threads: 1 });
  const n = 200;
  const data = new Uint8Array(n * 64);
  for (let i = 0; i < n; i++) data.set(pixels.subarray((i % 30) * 64, (i % 30 + 1) * 64), i * 64);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const start = process.hrtime.bigint();
  try {
    const r = await big.embed({ data, shape: [n, 1, 8, 8] });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    delay.disable();
    clearInterval(timer);
    const maxMs = delay.max / 1e6;
    console.log(`embed of ${n} images at 32 px: ${seconds.toFixed(2)} s; ${ticks} setInterval(1 ms) ticks (${(ticks / seconds).toFixed(0)}/s); event-loop delay max ${maxMs.toFixed(1)} ms, mean ${(delay.mean / 1e6).toFixed(2)} ms, p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms`);
    expect(r.block4.shape).toEqual([n, 512]);
    disposeAll(r.block4, r.embedding);
    expect(seconds).toBeGreaterThan(1);
    // A blocked loop would tick about once in the whole call; a free one ticks every few ms.
    expect(ticks).toBeGreaterThan(seconds * 50);
    // The worst single delay depends on the machine's load (a GC pause, another process); most are short.
    expect(delay.percentile(99) / 1e6).toBeLessThan(50);
    expect(maxMs).toBeLessThan(1000);
  } finally {
    clearInterval(timer);
    delay.disable();
    big.dispose();
  }
});

describe('bad inputs give coded errors saying what was expected and what to do', () => {
  const u8 = (shape: number[]) => ({ data: new Uint8Array(shape.reduce((a, b) => a * b, 1)), shape });

  test.each([
    ['a rank-2 array', u8([8, 8]), 'ERR_INVALID_ARG', /expected images \[N, 1, H, W\] or \[N, H, W\] but received a tensor of rank 2 \[8, 8\]; pass a batch/],
    ['a rank-5 array', u8([1, 1, 1, 8, 8]), 'ERR_INVALID_ARG', /rank 5/],
    ['3 channels for a 1-channel network', u8([2, 3, 8, 8]), 'ERR_INVALID_ARG', /this network takes 1 channel\) but received \[2, 3, 8, 8\] with 3; convert the images to 1 channel/],
    ['an empty batch', u8([0, 1, 8, 8]), 'ERR_INVALID_ARG', /at least one image.*received \[0, 1, 8, 8\]/],
    ['an image of 0 pixels', u8([2, 1, 0, 8]), 'ERR_INVALID_ARG', /at least 1×1 pixels/],
    ['int32 data', { data: new Int32Array(64), shape: [1, 1, 8, 8] }, 'ERR_INVALID_ARG', /Uint8Array \(0\.\.255\), Float32Array or Float64Array \(0\.\.1\) but received Int32Array/],
    ['a plain array', { data: [1, 2, 3], shape: [1, 1, 3] }, 'ERR_INVALID_ARG', /but received an array/],
    ['a shape that does not match the data', { data: new Uint8Array(10), shape: [1, 1, 8, 8] }, 'ERR_INVALID_ARG', /./],
    ['no images', undefined, 'ERR_INVALID_ARG', /Expected images as a Tensor or \{ data, shape \}/],
    ['a number', 3, 'ERR_INVALID_ARG', /received number/],
  ])('%s', async (_what, images, code, message) => {
    const e = await rejection(enc.embed(images as never));
    expect(e).toMatchObject({ name: 'ImlmError', code });
    expect(e.message).toMatch(message);
  });

  test('NaN or infinite floats: ERR_NON_FINITE naming the image', async () => {
    const data = new Float32Array(3 * 64).fill(0.5);
    data[2 * 64 + 10] = Infinity;
    const e = await rejection(enc.embed({ data, shape: [3, 1, 8, 8] }));
    expect(e).toMatchObject({ code: 'ERR_NON_FINITE', message: expect.stringContaining('image 2 of 3 holds NaN or infinite values') });
  });

  test('an int64 Tensor, a disposed Tensor', async () => {
    const t = tensor(new BigInt64Array(64), [1, 1, 8, 8]);
    expect(await rejection(enc.embed(t))).toMatchObject({ code: 'ERR_INVALID_ARG', message: expect.stringContaining('received int64') });
    t.dispose();
    expect(await rejection(enc.embed(t))).toMatchObject({ code: 'ERR_DISPOSED' });
  });

  test('bad options', async () => {
    const images = u8([1, 1, 8, 8]);
    expect(await rejection(enc.embed(images, { batchSize: 0 }))).toMatchObject({ code: 'ERR_INVALID_ARG', message: expect.stringContaining('batchSize') });
    expect(await rejection(enc.embed(images, { bogus: 1 } as never))).toMatchObject({ code: 'ERR_INVALID_ARG' });
    const aborted = new AbortController();
    aborted.abort();
    expect(await rejection(enc.embed(images, { signal: aborted.signal }))).toMatchObject({ code: 'ERR_CANCELLED' });
  });

  test('[N, H, W] for a network of 3 channels', async () => {
    const trainer = await Trainer.create(tinyConfig({ inChannels: 3, imageSize: 8 }));
    const rgb = path.join(dir, 'rgb-backbone.safetensors');
    await trainer.exportBackbone(rgb);
    const three = await loadEncoder(rgb, { device: 'cpu' });
    try {
      const e = await rejection(three.embed(u8([2, 8, 8])));
      expect(e).toMatchObject({ code: 'ERR_INVALID_ARG', message: expect.stringContaining('this network takes 3 channels) but received [2, 8, 8], a batch of one-channel images; pass [N, 3, H, W]') });
      const r = await three.embed(u8([2, 3, 8, 8]));
      expect(r.block4.shape).toEqual([2, 512]);
      r.block4.dispose();
    } finally {
      three.dispose();
    }
  });

  test('loading: a missing file, a file that is not a checkpoint, bad options', async () => {
    expect(await rejection(loadEncoder(path.join(dir, 'missing.safetensors')))).toMatchObject({ code: 'ERR_IO' });
    expect(await rejection(loadEncoder(path.join(store, 'test.safetensors'), { device: 'cpu' }))).toMatchObject({ code: 'ERR_FORMAT', message: expect.stringContaining('neither a training state') });
    expect(await rejection(loadEncoder(checkpoints.state, { device: 'tpu' }))).toMatchObject({ code: 'ERR_INVALID_ARG' });
    expect(await rejection(loadEncoder(checkpoints.state, { imageSize: 0 }))).toMatchObject({ code: 'ERR_INVALID_ARG' });
  });

  test('after dispose(): ERR_DISPOSED; dispose() twice is harmless', async () => {
    const e2 = await loadEncoder(checkpoints.state, { device: 'cpu' });
    e2.dispose();
    e2.dispose();
    expect(e2.disposed).toBe(true);
    const e = await rejection(e2.embed(u8([1, 1, 8, 8])));
    expect(e).toMatchObject({ code: 'ERR_DISPOSED', message: expect.stringContaining('loadEncoder') });
  });

  test('dispose() during an embed lets that embed finish', async () => {
    const e2 = await loadEncoder(checkpoints.state, { device: 'cpu' });
    const running = e2.embed({ data: pixels, shape: [30, 1, 8, 8] });
    e2.dispose();
    const r = await running;
    expect(maxAbsDiff(values(r.block4), file.block4.data)).toBe(0);
    disposeAll(r.block4, r.embedding);
  });
});

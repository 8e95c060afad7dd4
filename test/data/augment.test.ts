// Batched augmentation (native/core/augment): parameter ranges and probabilities over many
// samples, and the identities every policy must keep.
import { spawnSync } from 'child_process';
import { mkdtempSync } from 'fs';
import os from 'os';
import path from 'path';
import { tensor, writeSafetensors, type Tensor } from '../../lib';
import { findTorchPython } from '../helpers/python';
import { repoRoot } from '../helpers/run';
import { augmentBatch } from '../../lib/data/augment';

const values = (t: Tensor) => Array.from(t.toTypedArray() as Float64Array | Float32Array);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const min = (xs: number[]) => xs.reduce((a, b) => Math.min(a, b), Infinity);
const max = (xs: number[]) => xs.reduce((a, b) => Math.max(a, b), -Infinity);

/** N random RGB images of size×size in [0, 1]. */
function images(n: number, size: number, channels = 3): Tensor {
  let x = 12345;
  const data = Float32Array.from({ length: n * channels * size * size }, () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  });
  return tensor(data, [n, channels, size, size]);
}

describe('augmentation', () => {
  test("mocov2: each op's probability and parameter range", async () => {
    const input = images(2000, 32);
    const { images: out, params } = await augmentBatch(input, 'mocov2', 8, 1);
    expect(out.shape).toEqual([2000, 3, 8, 8]);
    const p = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, values(v)]));
    expect(mean(p.hflip)).toBeCloseTo(0.5, 1);
    expect(mean(p.vflip)).toBe(0);
    expect(mean(p.jitter)).toBeCloseTo(0.8, 1);
    expect(mean(p.grayscale)).toBeCloseTo(0.2, 1);
    expect(mean(p.blurSigma.map((s) => (s > 0 ? 1 : 0)))).toBeCloseTo(0.5, 1);
    const blurred = p.blurSigma.filter((s) => s > 0);
    expect(min(blurred)).toBeGreaterThanOrEqual(0.1);
    expect(max(blurred)).toBeLessThanOrEqual(2);
    const jittered = p.jitter.map((j, i) => (j ? i : -1)).filter((i) => i >= 0);
    for (const key of ['brightness', 'contrast', 'saturation']) {
      const f = jittered.map((i) => p[key][i]);
      expect(min(f)).toBeGreaterThanOrEqual(0.6);
      expect(max(f)).toBeLessThanOrEqual(1.4);
      expect(mean(f)).toBeCloseTo(1, 1);
      p.jitter.forEach((j, i) => j || expect(p[key][i]).toBe(1)); // untouched where not applied
    }
    const hue = jittered.map((i) => p.hue[i]);
    expect(max(hue.map(Math.abs))).toBeLessThanOrEqual(0.1);
    // Crop of a 32-pixel image: area share in [0.2, 1] and aspect ratio in [3/4, 4/3], up to the
    // rounding of the sides to whole pixels.
    expect(min(p.cropScale)).toBeGreaterThanOrEqual(0.18);
    expect(max(p.cropScale)).toBeLessThanOrEqual(1);
    expect(mean(p.cropScale)).toBeGreaterThan(0.45);
    expect(min(p.cropRatio)).toBeGreaterThanOrEqual(0.75 * 0.9);
    expect(max(p.cropRatio)).toBeLessThanOrEqual((4 / 3) * 1.1);
    const px = values(out);
    expect(min(px)).toBeGreaterThanOrEqual(0);
    expect(max(px)).toBeLessThanOrEqual(1);
  });

  test('kaku2021-cxr: rotation uniform in ±30°, no crop, no flips', async () => {
    const { params } = await augmentBatch(images(2000, 8, 1), 'kaku2021-cxr', 8, 2);
    const angle = values(params.angle);
    expect(max(angle.map(Math.abs))).toBeLessThanOrEqual(30);
    expect(mean(angle)).toBeCloseTo(0, 0);
    expect(mean(angle.map((a) => (Math.abs(a) > 15 ? 1 : 0)))).toBeCloseTo(0.5, 1);
    expect(new Set(values(params.cropScale))).toEqual(new Set([1]));
    expect(mean(values(params.hflip))).toBe(0);
  });

  test('identities: no augmentation, zero rotation, flipping twice, a crop of scale 1 and ratio 1', async () => {
    const input = images(4, 8);
    const original = values(input);
    const close = (a: number[], b: number[]) => a.forEach((v, i) => expect(Math.abs(v - b[i])).toBeLessThan(1e-5));
    close(values((await augmentBatch(input, 'none', 8)).images), original);
    close(values((await augmentBatch(input, { rotationDegrees: 0 }, 8)).images), original);
    const once = (await augmentBatch(input, { hflipP: 1 }, 8)).images;
    expect(values(once)).not.toEqual(original);
    close(values((await augmentBatch(once, { hflipP: 1 }, 8)).images), original);
    const resized = values((await augmentBatch(input, 'none', 4)).images);
    const cropped = values((await augmentBatch(input, { crop: true, scaleMin: 1, scaleMax: 1, ratioMin: 1, ratioMax: 1 }, 4)).images);
    close(cropped, resized);
  });

  test('views are independent draws; a seed reproduces a batch', async () => {
    const input = images(1000, 4);
    const a = await augmentBatch(input, 'mocov2', 4, 10);
    const b = await augmentBatch(input, 'mocov2', 4, 11);
    const agree = mean(values(a.params.hflip).map((f, i) => (f === values(b.params.hflip)[i] ? 1 : 0)));
    expect(agree).toBeGreaterThan(0.4);
    expect(agree).toBeLessThan(0.6);
    const again = await augmentBatch(input, 'mocov2', 4, 10);
    expect(values(again.images)).toEqual(values(a.images));
  });

  test.each(['mocov2', 'kaku2021-cxr', 'kaku2021-dr', 'kaku2021-bch'])(
    '%s: the fused CPU kernels equal the tensor path the GPU runs (float64 input takes it on the CPU)',
    async (policy) => {
      const input = images(24, 20);
      const asDouble = tensor(Float64Array.from(input.toTypedArray() as Float32Array), input.shape);
      const bytes = tensor(Uint8Array.from(input.toTypedArray() as Float32Array, (v) => Math.round(v * 255)), input.shape);
      const fromBytes = tensor(Float64Array.from(bytes.toTypedArray() as Uint8Array, (v) => v / 255), input.shape);
      const fused = values((await augmentBatch(input, policy, 16, 3)).images);
      const reference = values((await augmentBatch(asDouble, policy, 16, 3)).images);
      const fusedBytes = values((await augmentBatch(bytes, policy, 16, 3)).images);
      const referenceBytes = values((await augmentBatch(fromBytes, policy, 16, 3)).images);
      const worst = (a: number[], b: number[]) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
      // float32 against float64 arithmetic; nearest-neighbour sampling may round a coordinate
      // that sits on a pixel boundary the other way, so compare the share of differing pixels too.
      const off = (a: number[], b: number[]) => a.filter((v, i) => Math.abs(v - b[i]) > 1e-4).length / a.length;
      expect(off(fused, reference)).toBeLessThan(policy === 'kaku2021-cxr' ? 0.01 : 1e-3);
      expect(off(fusedBytes, referenceBytes)).toBeLessThan(policy === 'kaku2021-cxr' ? 0.01 : 1e-3);
      if (policy !== 'kaku2021-cxr') expect(worst(fused, reference)).toBeLessThan(2e-3);
    },
  );

  test('an unknown policy is refused', () => {
    expect(() => augmentBatch(images(1, 4), 'simclr', 4)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
  });
});

describe('augmentation against torchvision.transforms.functional', () => {
  // One op enabled at a time (jitter with p 1 and the other factors' ranges at 0, so they are
  // exactly 1), on the same inputs and with the parameters imlm-native drew.
  const cases: Array<[string, Partial<import('../../lib').AugmentPolicy>]> = [
    ['brightness', { jitterP: 1, brightness: 0.4 }],
    ['contrast', { jitterP: 1, contrast: 0.4 }],
    ['saturation', { jitterP: 1, saturation: 0.4 }],
    ['hue', { jitterP: 1, hue: 0.1 }],
    ['blur', { blurP: 1, blurSigmaMin: 0.1, blurSigmaMax: 2 }],
  ];
  test.each(cases)('%s equals torchvision', async (op, policy) => {
    const py = findTorchPython();
    if (!py) throw new Error('this test needs PyTorch for Python: apt-get install python3-torch python3-torchvision');
    const input = images(16, 16);
    const { images: output, params } = await augmentBatch(input, policy, 16, 7);
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'imlm-aug-')), 'case.safetensors');
    await writeSafetensors(file, { input, output, ...params });
    const r = spawnSync(py.python, [path.join(repoRoot, 'scripts/reference/check_augment.py'), file, op], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout).max_abs_diff).toBeLessThan(1e-5);
  });
});

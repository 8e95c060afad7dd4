// CKA against the float64 NumPy implementation of docs/method.md, "Metrics in the reference" (scripts/reference/cka.py), its
// invariances, the seeded set bootstrap, and the files API (rows paired by id).
import path from 'path';
import { analysis, tensor, type Tensor } from '../../lib';
import { normal, py, random, rows, tempDir, writeFeatures } from './helpers';

function matrix(seed: number, n: number, d: number, scale = 1): Float32Array {
  const rand = random(seed);
  return Float32Array.from({ length: n * d }, () => scale * normal(rand));
}

/** y = tanh(x·W) + noise: related to x but not linearly. */
function related(x: Float32Array, n: number, d: number, e: number, seed: number): Float32Array {
  const rand = random(seed);
  const w = Array.from({ length: d * e }, () => normal(rand) / Math.sqrt(d));
  const y = new Float32Array(n * e);
  for (let i = 0; i < n; ++i) {
    for (let j = 0; j < e; ++j) {
      let s = 0;
      for (let k = 0; k < d; ++k) s += x[i * d + k] * w[k * e + j];
      y[i * e + j] = Math.tanh(s) + 0.3 * normal(rand);
    }
  }
  return y;
}

/** Two Householder reflections (a rotation) applied to every row: an orthogonal transform. */
function rotate(x: Float32Array, n: number, d: number, seed: number): Float64Array {
  const rand = random(seed);
  const out = Float64Array.from(x);
  for (let r = 0; r < 2; ++r) {
    const v = Array.from({ length: d }, () => normal(rand));
    const vv = v.reduce((s, a) => s + a * a, 0);
    for (let i = 0; i < n; ++i) {
      let dot = 0;
      for (let k = 0; k < d; ++k) dot += out[i * d + k] * v[k];
      for (let k = 0; k < d; ++k) out[i * d + k] -= (2 * dot * v[k]) / vv;
    }
  }
  return out;
}

function numpyCka(x: Float32Array | Float64Array, dx: number, y: Float32Array | Float64Array, dy: number, kernel: string, sigma: number | null, fraction = 1): number {
  return py<{ cka: number }>(
    `from cka import cka\nprint(json.dumps(dict(cka=float(cka(data['x'], data['y'], data['kernel'], data['sigma'], data['fraction'])))))`,
    { x: rows(x, dx), y: rows(y, dy), kernel, sigma, fraction },
  ).cka;
}

async function ours(x: Float32Array | Float64Array, dx: number, y: Float32Array | Float64Array, dy: number, options: analysis.CkaOptions) {
  const n = x.length / dx;
  const tx: Tensor = tensor(x, [n, dx]);
  const ty: Tensor = tensor(y, [n, dy]);
  try {
    return await analysis.ckaOfTensors(tx, ty, { sets: 0, ...options });
  } finally {
    tx.dispose();
    ty.dispose();
  }
}

describe('analysis.cka: equal to the float64 NumPy implementation (docs/method.md, "Metrics in the reference") to 1e-6', () => {
  // [name, n, dx, dy, kernel, sigma, fraction]: the linear kernel both in sample space (n small)
  // and feature space (n large); RBF with the median σ, a fraction of it, and the paper's absolute 0.8.
  const cases: Array<[string, number, number, number, 'linear' | 'rbf', number | null, number | undefined]> = [
    ['linear, n < d (kernel form)', 40, 60, 30, 'linear', null, undefined],
    ['linear, n > d (feature form)', 300, 8, 12, 'linear', null, undefined],
    ['rbf, σ = median distance', 80, 16, 10, 'rbf', null, undefined],
    ['rbf, σ = 0.5 × median distance', 80, 16, 10, 'rbf', null, 0.5],
    ['rbf, absolute σ = 0.8 (the paper)', 60, 4, 3, 'rbf', 0.8, undefined],
  ];
  test.each(cases)('%s', async (_name, n, dx, dy, kernel, sigma, fraction) => {
    const x = matrix(n + dx, n, dx);
    const y = related(x, n, dx, dy, n + dy);
    const expected = numpyCka(x, dx, y, dy, kernel, sigma, fraction ?? 1);
    const r = await ours(x, dx, y, dy, { kernel, sigma: sigma ?? undefined, sigmaMedianFraction: fraction });
    expect(Math.abs(r.cka! - expected)).toBeLessThan(1e-6);
    expect(r.cka!).toBeGreaterThan(0.05);
    expect(r.cka!).toBeLessThan(0.999);
  });
});

describe('analysis.cka: properties', () => {
  const n = 50;
  const d = 12;
  const x = matrix(1, n, d);

  test('CKA(X, X) = 1 for both kernels', async () => {
    expect((await ours(x, d, x, d, { kernel: 'linear' })).cka).toBeCloseTo(1, 12);
    expect((await ours(x, d, x, d, { kernel: 'rbf' })).cka).toBeCloseTo(1, 12);
  });

  test('linear CKA is invariant to orthogonal transforms and isotropic scaling', async () => {
    const y = related(x, n, d, 7, 2);
    const base = (await ours(x, d, y, 7, { kernel: 'linear' })).cka!;
    const rotated = (await ours(rotate(x, n, d, 3), d, y, 7, { kernel: 'linear' })).cka!;
    const scaled = (await ours(x.map((v) => 37.5 * v), d, y, 7, { kernel: 'linear' })).cka!;
    expect(Math.abs(rotated - base)).toBeLessThan(1e-6);
    expect(Math.abs(scaled - base)).toBeLessThan(1e-6);
    // and it is not invariant to an arbitrary linear map (the test would notice a broken centering or kernel)
    const stretched = Float32Array.from(x, (v, i) => (i % d === 0 ? 25 * v : v));
    expect(Math.abs((await ours(stretched, d, y, 7, { kernel: 'linear' })).cka! - base)).toBeGreaterThan(1e-3);
  });

  test('RBF with σ relative to the median distance is invariant to isotropic scaling; with an absolute σ it is not', async () => {
    const y = related(x, n, d, 7, 4);
    const base = (await ours(x, d, y, 7, { kernel: 'rbf' })).cka!;
    const scaled = (await ours(x.map((v) => 10 * v), d, y, 7, { kernel: 'rbf' })).cka!;
    expect(Math.abs(scaled - base)).toBeLessThan(1e-6);
    // (At unit-variance scale D² ≈ 24 ≫ 2σ² and both kernels are ≈ I — the saturation docs/method.md
    // warns of — so compare at scales where σ = 0.8 is comparable to the distances.)
    const absolute = (await ours(x.map((v) => 0.1 * v), d, y, 7, { kernel: 'rbf', sigma: 0.8 })).cka!;
    const absoluteScaled = (await ours(x.map((v) => 0.3 * v), d, y, 7, { kernel: 'rbf', sigma: 0.8 })).cka!;
    expect(Math.abs(absoluteScaled - absolute)).toBeGreaterThan(1e-3);
  });
});

describe('analysis.cka: the paper\'s bootstrap over sets', () => {
  const n = 120;
  const x = matrix(5, n, 6);
  const y = related(x, n, 6, 5, 6);

  test('seeded: same seed, same sets and values; the mean and population std are of the values', async () => {
    const a = await ours(x, 6, y, 5, { sets: 8, setSize: 40, seed: 3 });
    const b = await ours(x, 6, y, 5, { sets: 8, setSize: 40, seed: 3 });
    const c = await ours(x, 6, y, 5, { sets: 8, setSize: 40, seed: 4 });
    expect(a.bootstrap).toEqual(b.bootstrap);
    expect(a.bootstrap!.values).not.toEqual(c.bootstrap!.values);
    const v = a.bootstrap!.values;
    const mean = v.reduce((s, t) => s + t, 0) / v.length;
    const std = Math.sqrt(v.reduce((s, t) => s + (t - mean) ** 2, 0) / v.length);
    expect(a.bootstrap!.mean).toBeCloseTo(mean, 12);
    expect(a.bootstrap!.std).toBeCloseTo(std, 12);
    expect(a.bootstrap).toMatchObject({ sets: 8, setSize: 40, seed: 3 });
    // A set of all rows is the full-data CKA, whatever the order.
    const all = await ours(x, 6, y, 5, { sets: 2, setSize: n, seed: 9 });
    for (const value of all.bootstrap!.values) expect(value).toBeCloseTo(all.cka!, 10);
  });

  test('fewer samples than a set: ERR_INVALID_ARG naming both numbers', async () => {
    await expect(ours(x, 6, y, 5, { sets: 2, setSize: 121 })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG',
      message: expect.stringMatching(/fewer samples \(120\) than one bootstrap set \(121/),
    });
  });

  test('NaN in a representation: ERR_NON_FINITE', async () => {
    const bad = Float32Array.from(x);
    bad[10] = NaN;
    await expect(ours(bad, 6, y, 5, {})).rejects.toMatchObject({ code: 'ERR_NON_FINITE' });
  });
});

describe('analysis.cka(file, file)', () => {
  const dir = tempDir();
  const n = 64;
  const ids = Array.from({ length: n }, (_, i) => 500 + i);
  const b1 = matrix(7, n, 8);
  const b2 = matrix(8, n, 5);
  const after1 = related(b1, n, 8, 8, 9);
  const after2 = related(b2, n, 5, 5, 10);

  test('per block, rows paired by id whatever their order in the files', async () => {
    const a = path.join(dir, 'before.safetensors');
    const b = path.join(dir, 'after.safetensors');
    await writeFeatures(a, ids, { block1: { values: b1, columns: 8 }, block2: { values: b2, columns: 5 } });
    // The second file holds the rows in reverse order.
    const reverse = (m: Float32Array, d: number) => Float32Array.from(rows(m, d).reverse().flat());
    await writeFeatures(b, ids.slice().reverse(), { block1: { values: reverse(after1, 8), columns: 8 }, block2: { values: reverse(after2, 5), columns: 5 } });
    const report = await analysis.cka(a, b, { kernel: 'rbf', sets: 5, setSize: 32, seed: 1 });
    expect(report.results.map((r) => r.tensor)).toEqual(['block1', 'block2']);
    expect(report.samples).toBe(n);
    const direct1 = await ours(b1, 8, after1, 8, { kernel: 'rbf' });
    const direct2 = await ours(b2, 5, after2, 5, { kernel: 'rbf' });
    expect(report.results[0].cka).toBeCloseTo(direct1.cka!, 12);
    expect(report.results[1].cka).toBeCloseTo(direct2.cka!, 12);
    expect(report.results[0].bootstrap).toMatchObject({ sets: 5, setSize: 32, seed: 1 });
    const one = await analysis.cka(a, b, { tensors: ['block2'], sets: 0 });
    expect(one.results.map((r) => r.tensor)).toEqual(['block2']);
  });

  test('files of different samples: ERR_INVALID_ARG with the counts', async () => {
    const a = path.join(dir, 'x.safetensors');
    const b = path.join(dir, 'y.safetensors');
    await writeFeatures(a, ids, { block1: { values: b1, columns: 8 } });
    await writeFeatures(b, ids.map((i) => (i < 504 ? i + 1000 : i)), { block1: { values: after1, columns: 8 } });
    await expect(analysis.cka(a, b, { sets: 0 })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG',
      message: expect.stringMatching(/4 of the second file's 64 ids are missing from the first .*4 of the first file's 64 ids are missing from the second/),
    });
  });

  test('RBF on more rows than maxFullSamples: the full value is skipped with a reason, the bootstrap still runs', async () => {
    const a = path.join(dir, 'before.safetensors');
    const b = path.join(dir, 'after.safetensors');
    const r = await analysis.cka(a, b, { kernel: 'rbf', maxFullSamples: 10, sets: 3, setSize: 10, tensors: ['block1'] });
    expect(r.results[0].cka).toBeNull();
    expect(r.results[0].fullSkipped).toMatch(/64 rows exceed maxFullSamples 10/);
    expect(r.results[0].bootstrap!.values).toHaveLength(3);
  });
});

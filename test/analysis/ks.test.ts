// The two-sample KS statistic and asymptotic p-value against scipy.stats.ks_2samp(method='asymp'),
// on random and tied samples of sizes that reach each of kstwo.sf's algorithms.
import path from 'path';
import { analysis, tensor } from '../../lib';
import { normal, py, random, softmaxRows, tempDir, writePredictions } from './helpers';

const kTolerance = 1e-9;

interface Sample {
  a: number[];
  b: number[];
}

function sample(seed: number, n1: number, n2: number, shift: number, decimals?: number, scale = 1): Sample {
  const rand = random(seed);
  const draw = (n: number, loc: number) =>
    Array.from({ length: n }, () => {
      const v = loc + scale * normal(rand);
      return decimals === undefined ? v : Math.round(v * 10 ** decimals) / 10 ** decimals;
    });
  return { a: draw(n1, 0), b: draw(n2, shift) };
}

type Method = 'asymp' | 'exact' | 'auto';

function scipy(samples: Sample[], method: Method = 'asymp'): Array<{ statistic: number; pvalue: number }> {
  return py(
    `
import warnings
from scipy import stats
out = []
for s in data['samples']:
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # a silent switch from exact to asymp would make the comparison meaningless
        r = stats.ks_2samp(np.array(s['a']), np.array(s['b']), method=data['method'])
    out.append(dict(statistic=float(r.statistic), pvalue=float(r.pvalue)))
print(json.dumps(out))
`,
    { samples, method },
  );
}

async function ours(s: Sample, method: Method = 'asymp') {
  const a = tensor(Float64Array.from(s.a), [s.a.length, 1]);
  const b = tensor(Float64Array.from(s.b), [s.b.length, 1]);
  try {
    return (await analysis.ksOfTensors(a, b, { probabilities: false, method }))[0];
  } finally {
    a.dispose();
    b.dispose();
  }
}

describe('analysis.ks: equal to scipy.stats.ks_2samp(method="asymp") to 1e-9', () => {
  // [n1, n2, shift, decimals]: effective n ≤ 140 (Durbin matrix, Pomeranz, Smirnov sum) and
  // > 140 (Durbin matrix, Pelz–Good, Smirnov sum), near-identical and far-apart samples, ties.
  const specs: Array<[number, number, number, number | undefined]> = [
    [50, 70, 0, undefined],
    [50, 70, 0.5, undefined],
    [20, 20, 0.9, undefined],
    [5, 7, 1.5, undefined],
    [10, 13, 0.2, 1],
    [140, 141, 0.05, undefined],
    [200, 300, 0.1, undefined],
    [1000, 800, 0.05, undefined],
    [1000, 800, 0.3, undefined],
    [500, 500, 0.1, 1],
    [300, 280, 0, 0],
    [3000, 5000, 0.02, undefined],
    [3000, 5000, 0, 1],
    [30000, 20000, 0.01, undefined],
  ];
  const samples = specs.map(([n1, n2, shift, decimals], i) => sample(100 + i, n1, n2, shift, decimals));
  let expected: Array<{ statistic: number; pvalue: number }>;
  beforeAll(() => {
    expected = scipy(samples);
  });

  test.each(specs.map((s, i) => [i, ...s] as const))('case %i: n1 %i, n2 %i, shift %d, decimals %s', async (i) => {
    const r = await ours(samples[i]);
    expect(Math.abs(r.statistic - expected[i].statistic)).toBeLessThan(kTolerance);
    expect(Math.abs(r.pvalue - expected[i].pvalue)).toBeLessThan(kTolerance);
  });

  test('the p-value spans its range in these cases (the comparison is not all 0s and 1s)', () => {
    const p = expected.map((e) => e.pvalue);
    expect(Math.min(...p)).toBeLessThan(1e-3);
    expect(p.filter((v) => v > 0.05 && v < 0.95).length).toBeGreaterThan(3);
  });
});

describe('analysis.ks: exact and auto p-values equal to scipy.stats.ks_2samp(method="exact"/"auto") to 1e-9', () => {
  // Equal and unequal sizes, ties, near-identical and far-apart samples; the last is above
  // 'auto''s 10,000 limit, where it is the asymptotic p-value.
  const specs: Array<[Method, number, number, number, number | undefined]> = [
    ['exact', 30, 30, 0.4, undefined],
    ['exact', 25, 40, 0, undefined],
    ['exact', 120, 90, 0.5, undefined],
    ['exact', 64, 96, 0.2, 1],
    ['exact', 400, 400, 0.15, undefined],
    ['exact', 700, 1000, 0.05, 1],
    ['auto', 2000, 1500, 0.08, undefined],
    ['auto', 12000, 300, 0.1, undefined],
  ];
  const samples = specs.map(([, n1, n2, shift, decimals], i) => sample(300 + i, n1, n2, shift, decimals));
  let expected: Array<{ statistic: number; pvalue: number }>;
  beforeAll(() => {
    expected = specs.map(([method], i) => scipy([samples[i]], method)[0]);
  });

  test.each(specs.map((s, i) => [i, ...s] as const))('case %i: %s, n1 %i, n2 %i, shift %d, decimals %s', async (i, method) => {
    const r = await ours(samples[i], method);
    expect(Math.abs(r.statistic - expected[i].statistic)).toBeLessThan(kTolerance);
    expect(Math.abs(r.pvalue - expected[i].pvalue)).toBeLessThan(kTolerance);
    expect(r.method).toBe(method === 'auto' && Math.max(samples[i].a.length, samples[i].b.length) > 10000 ? 'asymp' : method === 'auto' ? 'exact' : method);
  });
});

describe('analysis.ks(file, file)', () => {
  const dir = tempDir();
  const ids = Array.from({ length: 150 }, (_, i) => i);

  test('multilabel: one test per class and the mean; rows in any order', async () => {
    const rand = random(9);
    const k = 3;
    const pa = new Float32Array(150 * k).map(() => 1 / (1 + Math.exp(-normal(rand))));
    const pb = new Float32Array(150 * k).map(() => 1 / (1 + Math.exp(-normal(rand) - 0.3)));
    const labels = new Uint8Array(150 * k).map(() => (rand() < 0.5 ? 1 : 0));
    const a = path.join(dir, 'a.safetensors');
    const b = path.join(dir, 'b.safetensors');
    await writePredictions(a, { ids, probabilities: pa, classes: ['x', 'y', 'z'], task: 'multilabel', labels });
    await writePredictions(b, { ids: ids.slice().reverse(), probabilities: pb, classes: ['x', 'y', 'z'], task: 'multilabel', labels });
    const r = await analysis.ks(a, b);
    const ref = py<Array<{ statistic: number; pvalue: number }>>(
      `
from scipy import stats
A = np.array(data['a'], dtype=np.float64).reshape(-1, 3); B = np.array(data['b'], dtype=np.float64).reshape(-1, 3)
print(json.dumps([dict(statistic=float(s.statistic), pvalue=float(s.pvalue)) for s in (stats.ks_2samp(A[:, c], B[:, c], method='asymp') for c in range(3))]))
`,
      { a: Array.from(pa), b: Array.from(pb) },
    );
    expect(r.perClass.map((c) => c.className)).toEqual(['x', 'y', 'z']);
    r.perClass.forEach((c, i) => {
      expect(Math.abs(c.statistic - ref[i].statistic)).toBeLessThan(kTolerance);
      expect(Math.abs(c.pvalue - ref[i].pvalue)).toBeLessThan(kTolerance);
    });
    expect(r.statistic).toBeCloseTo(ref.reduce((s, c) => s + c.statistic, 0) / 3, 12);
  });

  test('binary: the positive class (column 1) only', async () => {
    const rand = random(10);
    const pa = softmaxRows(rand, 150, 2);
    const pb = softmaxRows(rand, 150, 2);
    const a = path.join(dir, 'ba.safetensors');
    const b = path.join(dir, 'bb.safetensors');
    await writePredictions(a, { ids, probabilities: pa, classes: ['neg', 'pos'], task: 'binary' });
    await writePredictions(b, { ids, probabilities: pb, classes: ['neg', 'pos'], task: 'binary' });
    const r = await analysis.ks(a, b);
    expect(r.perClass.map((c) => c.classIndex)).toEqual([1]);
    const positive = (p: Float32Array) => Array.from(p.filter((_, i) => i % 2 === 1));
    const ref = py<{ statistic: number; pvalue: number }>(
      `from scipy import stats\nr = stats.ks_2samp(data['a'], data['b'], method='asymp')\nprint(json.dumps(dict(statistic=float(r.statistic), pvalue=float(r.pvalue))))`,
      { a: positive(pa), b: positive(pb) },
    );
    expect(Math.abs(r.statistic - ref.statistic)).toBeLessThan(kTolerance);
    expect(Math.abs(r.pvalue - ref.pvalue)).toBeLessThan(kTolerance);
  });

  test('different samples are refused unless allowed; different tasks are refused', async () => {
    const rand = random(11);
    const a = path.join(dir, 'ca.safetensors');
    const b = path.join(dir, 'cb.safetensors');
    const c = path.join(dir, 'cc.safetensors');
    await writePredictions(a, { ids, probabilities: softmaxRows(rand, 150, 2), classes: ['neg', 'pos'], task: 'binary' });
    await writePredictions(b, { ids: ids.map((i) => i + 10), probabilities: softmaxRows(rand, 150, 2), classes: ['neg', 'pos'], task: 'binary' });
    await writePredictions(c, { ids, probabilities: softmaxRows(rand, 150, 3), classes: ['p', 'q', 'r'], task: 'multiclass' });
    await expect(analysis.ks(a, b)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG', message: expect.stringMatching(/10 of the second file's 150 ids are missing/) });
    await expect(analysis.ks(a, b, { sameSamples: false })).resolves.toMatchObject({ task: 'binary' });
    await expect(analysis.ks(a, c)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG', message: expect.stringMatching(/different tasks/) });
  });
});

describe('analysis.ks: bad input', () => {
  test('NaN: ERR_NON_FINITE; probabilities outside [0, 1]: ERR_INVALID_ARG', async () => {
    const a = tensor(Float32Array.from([0.1, NaN, 0.3]), [3, 1]);
    const b = tensor(Float32Array.from([0.1, 0.2, 1.3]), [3, 1]);
    const ok = tensor(Float32Array.from([0.1, 0.2, 0.3]), [3, 1]);
    await expect(analysis.ksOfTensors(a, ok)).rejects.toMatchObject({ code: 'ERR_NON_FINITE' });
    await expect(analysis.ksOfTensors(ok, b)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG', message: expect.stringMatching(/\[0, 1\]/) });
    await expect(analysis.ksOfTensors(ok, b, { probabilities: false })).resolves.toHaveLength(1);
    [a, b, ok].forEach((t) => t.dispose());
  });
});

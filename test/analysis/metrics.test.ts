// Classification metrics against scikit-learn (random and tied scores), the bootstrap's
// reproducibility, exclusions and the refusals of bad input.
import path from 'path';
import { analysis, tensor, writeSafetensors, type Tensor } from '../../lib';
import { writeStore } from '../../lib/data/store';
import { normal, py, random, softmaxRows, tempDir, writePredictions } from './helpers';

const kTolerance = 1e-9;

type Task = 'binary' | 'multiclass' | 'multilabel';

interface Case {
  task: Task;
  probabilities: Float32Array;
  k: number;
  labels: BigInt64Array | Uint8Array;
}

/** Labels that depend on the probabilities, so that AUCs are neither 0.5 nor 1. */
function makeCase(task: Task, n: number, k: number, seed: number, decimals?: number): Case {
  const rand = random(seed);
  if (task === 'multilabel') {
    const probabilities = new Float32Array(n * k);
    const labels = new Uint8Array(n * k);
    for (let i = 0; i < n * k; ++i) {
      let p = 1 / (1 + Math.exp(-1.5 * normal(rand)));
      if (decimals !== undefined) p = Math.round(p * 10 ** decimals) / 10 ** decimals;
      probabilities[i] = p;
      labels[i] = rand() < p ? 1 : 0;
    }
    return { task, probabilities, k, labels };
  }
  const probabilities = softmaxRows(rand, n, k, decimals);
  const labels = new BigInt64Array(n);
  for (let i = 0; i < n; ++i) {
    // Sample the label from a sharpened version of the row, so that it correlates with it.
    const row = Array.from(probabilities.subarray(i * k, (i + 1) * k)).map((p) => p ** 0.5);
    let u = rand() * row.reduce((a, b) => a + b, 0);
    let c = 0;
    while (c < k - 1 && (u -= row[c]) > 0) ++c;
    labels[i] = BigInt(c);
  }
  return { task, probabilities, k, labels };
}

interface Reference {
  auc: Array<number | null>;
  macro: number | null;
  ovr: number | null;
  f1: number;
  f1Positive: number | null;
  accuracy: number;
}

function sklearn(c: Case, ovr = false): Reference {
  return py<Reference>(
    `
from sklearn.metrics import roc_auc_score, f1_score, accuracy_score
P = np.array(data['p'], dtype=np.float64).reshape(-1, data['k'])
task = data['task']
auc = []
if task == 'multilabel':
    Y = np.array(data['y'], dtype=np.int64).reshape(-1, data['k'])
    cols = range(data['k'])
    target = lambda c: Y[:, c]
    pred = (P > 0.5).astype(np.int64)
    f1 = f1_score(Y, pred, average='macro', zero_division=0)
    acc = accuracy_score(Y, pred)
    f1pos = None
else:
    y = np.array(data['y'], dtype=np.int64)
    cols = [1] if task == 'binary' else range(data['k'])
    target = lambda c: (y == c).astype(np.int64)
    pred = (P[:, 1] > 0.5).astype(np.int64) if task == 'binary' else P.argmax(axis=1)
    f1 = f1_score(y, pred, average='macro')
    f1pos = f1_score(y, pred) if task == 'binary' else None
    acc = accuracy_score(y, pred)
for c in cols:
    t = target(c)
    auc.append(float(roc_auc_score(t, P[:, c])) if 0 < t.sum() < len(t) else None)
defined = [a for a in auc if a is not None]
ovr = float(roc_auc_score(y, P, multi_class='ovr', average='macro')) if data['ovr'] else None
print(json.dumps(dict(auc=auc, macro=float(np.mean(defined)) if defined else None, ovr=ovr, f1=float(f1), f1Positive=None if f1pos is None else float(f1pos), accuracy=float(acc))))
`,
    { p: Array.from(c.probabilities), y: Array.from(c.labels, Number), k: c.k, task: c.task, ovr },
  );
}

async function ours(c: Case, options: { resamples?: number; seed?: number } = {}) {
  const n = c.probabilities.length / c.k;
  const p = tensor(c.probabilities, [n, c.k]);
  const y = tensor(c.labels, c.labels instanceof Uint8Array ? [n, c.k] : [n]);
  try {
    return await analysis.metricsOfTensors(p, y, c.task, { resamples: options.resamples ?? 0, seed: options.seed });
  } finally {
    p.dispose();
    y.dispose();
  }
}

function expectMatches(report: analysis.MetricsReport, ref: Reference): void {
  expect(report.aucPerClass.map((a) => a.auc.value)).toHaveLength(ref.auc.length);
  report.aucPerClass.forEach((a, i) => {
    if (ref.auc[i] === null) expect(a.included).toBe(false);
    else expect(Math.abs(a.auc.value! - ref.auc[i]!)).toBeLessThan(kTolerance);
  });
  expect(Math.abs(report.aucMacro.value! - ref.macro!)).toBeLessThan(kTolerance);
  expect(Math.abs(report.f1.value! - ref.f1)).toBeLessThan(kTolerance);
  expect(Math.abs(report.accuracy.value! - ref.accuracy)).toBeLessThan(kTolerance);
  if (ref.f1Positive !== null) expect(Math.abs(report.f1Positive.value! - ref.f1Positive)).toBeLessThan(kTolerance);
}

describe('analysis.metrics: equal to scikit-learn to 1e-9', () => {
  const cases: Array<[string, Task, number, number, number | undefined]> = [
    ['binary, random scores', 'binary', 500, 2, undefined],
    ['binary, tied scores (1 decimal)', 'binary', 400, 2, 1],
    ['multiclass (5 classes), random', 'multiclass', 600, 5, undefined],
    ['multiclass (4 classes), tied (2 decimals)', 'multiclass', 300, 4, 2],
    ['multilabel (6 labels), random', 'multilabel', 400, 6, undefined],
    ['multilabel (5 labels), tied (1 decimal)', 'multilabel', 300, 5, 1],
  ];
  test.each(cases)('%s', async (_name, task, n, k, decimals) => {
    const c = makeCase(task, n, k, n + k, decimals);
    const ref = sklearn(c, task === 'multiclass' && decimals === undefined);
    const report = await ours(c);
    expectMatches(report, ref);
    // scikit-learn's own one-vs-rest macro equals the mean of the per-class AUCs.
    if (ref.ovr !== null) expect(Math.abs(report.aucMacro.value! - ref.ovr)).toBeLessThan(kTolerance);
    expect(report.excludedClasses).toEqual([]);
  });

  test('all scores tied: AUC 0.5 exactly, as scikit-learn', async () => {
    const c: Case = { task: 'binary', k: 2, probabilities: new Float32Array(40).fill(0.5), labels: BigInt64Array.from({ length: 20 }, (_, i) => BigInt(i % 2)) };
    const report = await ours(c);
    expect(report.aucMacro.value).toBe(0.5);
    expectMatches(report, sklearn(c));
  });
});

describe('analysis.metrics: classes with one label value', () => {
  test('a multilabel class with no positives is excluded with a reason; the macro is over the rest; no NaN', async () => {
    const c = makeCase('multilabel', 200, 4, 7);
    for (let i = 0; i < 200; ++i) c.labels[i * 4 + 2] = 0; // class 2: no positives
    for (let i = 0; i < 200; ++i) c.labels[i * 4 + 3] = 1; // class 3: only positives
    const report = await ours(c, { resamples: 50 });
    expect(report.excludedClasses.map((e) => e.classIndex)).toEqual([2, 3]);
    expect(report.excludedClasses[0].reason).toMatch(/no positive labels/);
    expect(report.excludedClasses[1].reason).toMatch(/no negative labels/);
    expectMatches(report, sklearn(c));
    expect(JSON.stringify(report)).not.toMatch(/NaN/);
    expect(report.aucPerClass[2].auc.value).toBeNull();
    expect(report.aucPerClass[2].auc.ci).toBeNull();
  });

  test('no class with both labels: macro AUC null with a reason, other metrics still there', async () => {
    const c = makeCase('binary', 50, 2, 3);
    (c.labels as BigInt64Array).fill(0n);
    const report = await ours(c, { resamples: 20 });
    expect(report.aucMacro.value).toBeNull();
    expect(report.aucMacro.reason).toMatch(/no class has both/);
    expect(report.accuracy.value).toBeGreaterThanOrEqual(0);
    expect(report.accuracy.ci).not.toBeNull();
  });
});

describe('analysis.metrics: bootstrap intervals', () => {
  test('seeded: the same seed gives the same intervals, another seed others; the seed is recorded', async () => {
    const c = makeCase('multiclass', 300, 3, 11);
    const a = await ours(c, { resamples: 200, seed: 5 });
    const b = await ours(c, { resamples: 200, seed: 5 });
    const other = await ours(c, { resamples: 200, seed: 6 });
    expect(a.aucMacro.ci).toEqual(b.aucMacro.ci);
    expect(a.f1.ci).toEqual(b.f1.ci);
    expect(a.aucPerClass[1].auc.ci).toEqual(b.aucPerClass[1].auc.ci);
    expect(a.aucMacro.ci).not.toEqual(other.aucMacro.ci);
    expect(a.bootstrap).toEqual({ resamples: 200, seed: 5, confidence: 0.95, method: 'percentile' });
  });

  test('the percentile interval holds the value; the paper interval (SE of the bootstrap mean) is much narrower', async () => {
    const c = makeCase('binary', 400, 2, 13);
    const r = await ours(c, { resamples: 400, seed: 1 });
    for (const e of [r.aucMacro, r.f1, r.f1Positive, r.accuracy]) {
      expect(e.ci!.low).toBeLessThanOrEqual(e.value!);
      expect(e.ci!.high).toBeGreaterThanOrEqual(e.value!);
      expect(e.resamplesUsed).toBe(400);
      const width = e.ci!.high - e.ci!.low;
      const paperWidth = e.paperInterval!.high - e.paperInterval!.low;
      // ≈ width / √B (the factor docs/method.md Q11 describes); generous bounds.
      expect(paperWidth).toBeLessThan(width / 8);
      expect(paperWidth).toBeGreaterThan(0);
    }
  });
});

describe('analysis.metrics: bad input', () => {
  test('NaN probabilities: ERR_NON_FINITE', async () => {
    const c = makeCase('binary', 30, 2, 1);
    c.probabilities[7] = NaN;
    await expect(ours(c)).rejects.toMatchObject({ code: 'ERR_NON_FINITE', message: expect.stringMatching(/row 3/) });
  });

  test('values outside [0, 1] (logits): ERR_INVALID_ARG saying so', async () => {
    const c = makeCase('multilabel', 30, 3, 1);
    c.probabilities[4] = 1.5;
    await expect(ours(c)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG', message: expect.stringMatching(/\[0, 1\].*logits/) });
  });

  test('a label outside the classes: ERR_INVALID_ARG', async () => {
    const c = makeCase('multiclass', 30, 3, 1);
    (c.labels as BigInt64Array)[0] = 3n;
    await expect(ours(c)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG', message: expect.stringMatching(/label 0 is 3/) });
  });

  test('bad options are refused before native work', async () => {
    const c = makeCase('binary', 10, 2, 1);
    const p = tensor(c.probabilities, [10, 2]);
    const y = tensor(c.labels, [10]);
    await expect(analysis.metricsOfTensors(p, y, 'binary', { resamples: -1 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    await expect(analysis.metricsOfTensors(p, y, 'binary', { confidence: 1 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    p.dispose();
    y.dispose();
  });
});

describe('analysis.metrics(file)', () => {
  const dir = tempDir();

  test('labels from another file are paired by id (any order) and give the file\'s own result', async () => {
    const c = makeCase('multiclass', 120, 3, 21);
    const ids = Array.from({ length: 120 }, (_, i) => 1000 + i);
    const file = path.join(dir, 'p.safetensors');
    await writePredictions(file, { ids, probabilities: c.probabilities, classes: ['a', 'b', 'c'], task: 'multiclass', labels: c.labels as BigInt64Array });
    // The labels file holds the same ids reversed.
    const labelsFile = path.join(dir, 'labels.safetensors');
    const reversedIds = BigInt64Array.from(ids.slice().reverse().map(BigInt));
    const reversedLabels = BigInt64Array.from(Array.from(c.labels as BigInt64Array).reverse());
    const t: Record<string, Tensor> = { ids: tensor(reversedIds, [120]), labels: tensor(reversedLabels, [120]) };
    await writeSafetensors(labelsFile, t);
    Object.values(t).forEach((x) => x.dispose());

    const own = await analysis.metrics(file, { resamples: 30 });
    const paired = await analysis.metrics(file, { resamples: 30, labels: labelsFile });
    expect(paired.aucMacro).toEqual(own.aucMacro);
    expect(paired.f1).toEqual(own.f1);
    expect(own.aucPerClass.map((a) => a.className)).toEqual(['a', 'b', 'c']);
    expect(paired.labels).toBe(labelsFile);
  });

  test('labels from a prepared store\'s test split (--labels STORE)', async () => {
    const c = makeCase('binary', 40, 2, 23);
    const ids = Array.from({ length: 40 }, (_, i) => 7 * i);
    const store = path.join(dir, 'store');
    await writeStore(store, {
      manifest: {
        sourceFormat: 'test',
        source: dir,
        task: 'binary',
        classes: ['neg', 'pos'],
        channels: 1,
        imageSize: [2, 2],
        splitMethod: 'test',
        seed: 0,
        preparation: {},
        skipped: [],
      },
      // Stored in another order than the predictions.
      splits: { test: { images: new Uint8Array(40 * 4), labels: BigInt64Array.from(Array.from(c.labels as BigInt64Array).reverse()), ids: BigInt64Array.from(ids.slice().reverse().map(BigInt)) } },
    });
    const file = path.join(dir, 'p-store.safetensors');
    await writePredictions(file, { ids, probabilities: c.probabilities, classes: ['neg', 'pos'], task: 'binary' });
    const r = await analysis.metrics(file, { labels: store, resamples: 0 });
    expectMatches(r, sklearn(c));
    expect(r.labels).toBe(`${store} (test split)`);
    await expect(analysis.metrics(file, { resamples: 0 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG', message: expect.stringMatching(/holds no 'labels'/) });
  });

  test('ids that do not match: ERR_INVALID_ARG saying how many each side lacks', async () => {
    const c = makeCase('binary', 50, 2, 22);
    const file = path.join(dir, 'p2.safetensors');
    await writePredictions(file, { ids: Array.from({ length: 50 }, (_, i) => i), probabilities: c.probabilities, classes: ['neg', 'pos'], task: 'binary', labels: c.labels as BigInt64Array });
    const labelsFile = path.join(dir, 'labels2.safetensors');
    // ids 3..52: 3 of the predictions' ids (0, 1, 2) are not there, 3 of its own (50, 51, 52) are not in the predictions.
    const t = { ids: tensor(BigInt64Array.from({ length: 50 }, (_, i) => BigInt(i + 3)), [50]), labels: tensor(c.labels, [50]) };
    await writeSafetensors(labelsFile, t);
    Object.values(t).forEach((x) => x.dispose());
    await expect(analysis.metrics(file, { labels: labelsFile })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG',
      message: expect.stringMatching(/3 of the second file's 50 ids are missing from the first \(50, 51, 52\), and 3 of the first file's 50 ids are missing from the second \(0, 1, 2\)/),
    });
  });

  test('a file that is not a predictions file: ERR_FORMAT', async () => {
    const file = path.join(dir, 'other.safetensors');
    const t = tensor(new Float32Array(4), [2, 2]);
    await writeSafetensors(file, { probabilities: t }, { format: 'something-else' });
    t.dispose();
    await expect(analysis.metrics(file)).rejects.toMatchObject({ code: 'ERR_FORMAT', message: expect.stringMatching(/imlm-native\/predictions/) });
  });
});

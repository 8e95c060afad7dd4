// The paired comparison (`analyze compare`): the same resamples through scikit-learn in Python
// give the same differences and intervals to 1e-9; the interval covers 0 for two models drawn
// from one score distribution and excludes 0 for a constructed gap; files are paired by id;
// seeds pool; bad input is refused with a code.
import path from 'path';
import { analysis, tensor, type Tensor } from '../../lib';
import { runCli } from '../helpers/run';
import { normal, py, random, softmaxRows, tempDir, writePredictions } from './helpers';

const kTolerance = 1e-9;

/** Labels drawn from a sharpened version of each row, so that the scores carry information. */
function labelsFrom(rand: () => number, p: Float32Array, n: number, k: number): BigInt64Array {
  const labels = new BigInt64Array(n);
  for (let i = 0; i < n; ++i) {
    const row = Array.from(p.subarray(i * k, (i + 1) * k)).map((v) => v ** 0.5);
    let u = rand() * row.reduce((a, b) => a + b, 0);
    let c = 0;
    while (c < k - 1 && (u -= row[c]) > 0) ++c;
    labels[i] = BigInt(c);
  }
  return labels;
}

/** `p` blurred towards uniform by `noise` (0: p itself), rows still summing to 1. */
function noisier(rand: () => number, p: Float32Array, n: number, k: number, noise: number): Float32Array {
  const out = new Float32Array(n * k);
  for (let i = 0; i < n; ++i) {
    const row = Array.from({ length: k }, (_, c) => (1 - noise) * p[i * k + c] + noise * Math.exp(normal(rand)));
    const s = row.reduce((a, b) => a + b, 0);
    for (let c = 0; c < k; ++c) out[i * k + c] = row[c] / s;
  }
  return out;
}

interface Reference {
  difference: Record<string, number>;
  low: Record<string, number>;
  high: Record<string, number>;
}

/** Every resample's difference through scikit-learn, rows repeated as the counts say. */
function sklearnPaired(a: Float32Array[], b: Float32Array[], labels: BigInt64Array, k: number, counts: number[][], task: string): Reference {
  return py<Reference>(
    `
from sklearn.metrics import roc_auc_score, f1_score, accuracy_score
k = data['k']
y = np.array(data['y'])
A = [np.array(p, dtype=np.float64).reshape(-1, k) for p in data['a']]
B = [np.array(p, dtype=np.float64).reshape(-1, k) for p in data['b']]
binary = data['task'] == 'binary'
classes = [1] if binary else [c for c in range(k) if 0 < (y == c).sum() < len(y)]
def metrics(P, idx):
    yy, pp = y[idx], P[idx]
    aucs = [roc_auc_score(yy == c, pp[:, c]) for c in classes if 0 < (yy == c).sum() < len(yy)]
    pred = (pp[:, 1] > 0.5).astype(int) if binary else pp.argmax(axis=1)
    return {'auc': np.mean(aucs) if aucs else None, 'f1': f1_score(yy, pred, average='macro'), 'accuracy': accuracy_score(yy, pred)}
def diff(idx):
    ma = [metrics(P, idx) for P in A]
    mb = [metrics(P, idx) for P in B]
    out = {}
    for m in ['auc', 'f1', 'accuracy']:
        if any(x[m] is None for x in ma + mb): continue
        out[m] = float(np.mean([x[m] - z[m] for x, z in zip(ma, mb)]))
    return out
full = diff(np.arange(len(y)))
values = {'auc': [], 'f1': [], 'accuracy': []}
for c in data['counts']:
    d = diff(np.repeat(np.arange(len(y)), c))
    for m in d: values[m].append(d[m])
print(json.dumps({'difference': full,
  'low': {m: float(np.percentile(v, 2.5)) for m, v in values.items()},
  'high': {m: float(np.percentile(v, 97.5)) for m, v in values.items()}}))
`,
    { a: a.map((p) => Array.from(p)), b: b.map((p) => Array.from(p)), y: Array.from(labels, Number), k, counts, task },
  );
}

function countsOf(t: Tensor): number[][] {
  const [resamples, n] = t.shape;
  const flat = t.toTypedArray() as BigInt64Array;
  return Array.from({ length: resamples }, (_, r) => Array.from(flat.subarray(r * n, (r + 1) * n), Number));
}

describe('paired comparison', () => {
  test.each([
    ['multiclass', 3, 2],
    ['binary', 2, 1],
  ] as const)('%s, %i classes, %i pair(s): differences and intervals equal scikit-learn on the same resamples to 1e-9', async (task, k, pairs) => {
    const n = 90;
    const rand = random(11 + k);
    const base = softmaxRows(rand, n, k);
    const labels = labelsFrom(rand, base, n, k);
    const a = Array.from({ length: pairs }, () => noisier(rand, base, n, k, 0.3));
    const b = Array.from({ length: pairs }, () => noisier(rand, base, n, k, 0.6));
    const owned = [...a, ...b].map((p) => tensor(p, [n, k]));
    const y = tensor(labels, [n]);
    const r = await analysis.compareTensors(owned.slice(0, pairs), owned.slice(pairs), y, task, { resamples: 200, seed: 3, keepResampleCounts: true });
    const ref = sklearnPaired(a, b, labels, k, countsOf(r.resampleCounts!), task);
    for (const [ours, key] of [[r.aucMacro, 'auc'], [r.f1, 'f1'], [r.accuracy, 'accuracy']] as const) {
      expect(Math.abs(ours.difference! - ref.difference[key])).toBeLessThan(kTolerance);
      expect(Math.abs(ours.ci!.low - ref.low[key])).toBeLessThan(kTolerance);
      expect(Math.abs(ours.ci!.high - ref.high[key])).toBeLessThan(kTolerance);
      expect(ours.a).toHaveLength(pairs);
      expect(ours.resamplesUsed).toBe(200);
    }
    expect(r.pairs).toBe(pairs);
    for (const t of [...owned, y, r.resampleCounts!]) t.dispose();
  });

  test('two models drawn from the same score distribution: every interval covers 0; a constructed gap: the AUC interval excludes 0', async () => {
    const n = 600;
    const k = 4;
    const rand = random(5);
    const base = softmaxRows(rand, n, k);
    const labels = tensor(labelsFrom(rand, base, n, k), [n]);
    const same = [noisier(rand, base, n, k, 0.5), noisier(rand, base, n, k, 0.5)].map((p) => tensor(p, [n, k]));
    const r = await analysis.compareTensors([same[0]], [same[1]], labels, 'multiclass', { resamples: 500 });
    for (const d of [r.aucMacro, r.f1, r.accuracy]) {
      expect(d.ci!.low).toBeLessThan(0);
      expect(d.ci!.high).toBeGreaterThan(0);
      expect(d.shown).toBe(false);
    }
    const better = tensor(noisier(rand, base, n, k, 0.1), [n, k]);
    const worse = tensor(noisier(rand, base, n, k, 0.9), [n, k]);
    const gap = await analysis.compareTensors([better], [worse], labels, 'multiclass', { resamples: 500 });
    expect(gap.aucMacro.difference!).toBeGreaterThan(0.05);
    expect(gap.aucMacro.ci!.low).toBeGreaterThan(0);
    expect(gap.aucMacro.shown).toBe(true);
    // Paired is narrower than the difference of two separate intervals would suggest.
    const single = await analysis.metricsOfTensors(better, labels, 'multiclass', { resamples: 500 });
    expect(gap.aucMacro.ci!.high - gap.aucMacro.ci!.low).toBeLessThan(2 * (single.aucMacro.ci!.high - single.aucMacro.ci!.low));
    for (const t of [...same, labels, better, worse]) t.dispose();
  });

  test('files: rows paired by sample id whatever their order, seeds pooled, the same numbers as the tensors; the CLI prints one JSON object', async () => {
    const dir = tempDir();
    const n = 70;
    const k = 3;
    const rand = random(9);
    const base = softmaxRows(rand, n, k);
    const labels = labelsFrom(rand, base, n, k);
    const ids = Array.from({ length: n }, (_, i) => 100 + i);
    const classes = ['a', 'b', 'c'];
    const probs = [0.2, 0.3, 0.7, 0.8].map((noise) => noisier(rand, base, n, k, noise));
    const files = probs.map((_, i) => path.join(dir, `p${i}.safetensors`));
    // The second B file lists its rows in reverse.
    const reversed = (p: Float32Array) => Float32Array.from({ length: n * k }, (_, j) => p[(n - 1 - Math.floor(j / k)) * k + (j % k)]);
    for (const [i, p] of probs.entries()) {
      const flip = i === 3;
      await writePredictions(files[i], {
        ids: flip ? [...ids].reverse() : ids,
        probabilities: flip ? reversed(p) : p,
        classes,
        task: 'multiclass',
        labels: flip ? BigInt64Array.from([...labels].reverse()) : labels,
      });
    }
    const fromFiles = await analysis.compare([files[0], files[1]], [files[2], files[3]], { resamples: 100, seed: 1 });
    const t = probs.map((p) => tensor(p, [n, k]));
    const y = tensor(labels, [n]);
    const fromTensors = await analysis.compareTensors([t[0], t[1]], [t[2], t[3]], y, 'multiclass', { resamples: 100, seed: 1 });
    expect(fromFiles.aucMacro.difference).toBeCloseTo(fromTensors.aucMacro.difference!, 12);
    expect(fromFiles.aucMacro.ci).toEqual(fromTensors.aucMacro.ci);
    expect(fromFiles.accuracy.ci).toEqual(fromTensors.accuracy.ci);
    expect(fromFiles.pairs).toBe(2);
    for (const x of [...t, y]) x.dispose();

    const cli = await runCli(['analyze', 'compare', `${files[0]},${files[1]}`, `${files[2]},${files[3]}`, '--resamples', '100', '--seed', '1', '--json']);
    expect(cli.code).toBe(0);
    expect(cli.stdout.trim().split('\n')).toHaveLength(1);
    const out = JSON.parse(cli.stdout);
    expect(out.pairs).toBe(2);
    expect(out.auc_macro.difference).toBeCloseTo(fromFiles.aucMacro.difference!, 12);
    expect(out.auc_macro.ci.low).toBe(fromFiles.aucMacro.ci!.low);
    expect(typeof out.auc_macro.shown).toBe('boolean');
    const table = await runCli(['analyze', 'compare', files[0], files[2], '--resamples', '50']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/A − B on the same 70 samples/);

    await expect(analysis.compare([files[0]], [files[1], files[2]])).rejects.toMatchObject({ code: 'ERR_INVALID_ARG', message: expect.stringMatching(/as many predictions files/) });
    const bad = await runCli(['analyze', 'compare', files[0], path.join(dir, 'missing.safetensors')]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/ERR_/);
  });
});

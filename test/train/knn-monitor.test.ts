// The online kNN monitor: the weighted vote equals a direct computation of solo-learn's rule, and
// a monitored run trains exactly as an unmonitored one (same losses, same weights), logging
// monitor/knn_top1 at every monitor step.
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import os from 'os';
import path from 'path';
import { pretrain, readSafetensors, syntheticSource, tensor } from '../../lib';
import { knnClassify } from '../../lib/analysis/knn';
import { createKnnMonitor, type KnnMonitor } from '../../lib/train/knn-monitor';
import { writeSyntheticStore } from '../eval/fixtures';
import { tinyConfig } from '../helpers/configs';

let dir: string;
beforeAll(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'imlm-knn-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** solo-learn's WeightedKNNClassifier written out for a handful of rows. */
function directKnn(bank: number[][], bankLabels: number[], query: number[][], k: number, t: number, classes: number): number[] {
  const unit = (v: number[]) => v.map((x) => x / Math.max(1e-12, Math.hypot(...v)));
  const b = bank.map(unit);
  return query.map((q0) => {
    const q = unit(q0);
    const sims = b.map((row, i) => ({ i, s: row.reduce((a, x, j) => a + x * q[j], 0) })).sort((x, y) => y.s - x.s).slice(0, k);
    const votes = new Array(classes).fill(0);
    for (const { i, s } of sims) votes[bankLabels[i]] += Math.exp(s / t);
    return votes.indexOf(Math.max(...votes));
  });
}

test('the weighted vote equals the direct computation (random features, several k)', async () => {
  let x = 12345;
  const rnd = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5;
  const bank = Array.from({ length: 40 }, () => Array.from({ length: 6 }, rnd));
  const bankLabels = Array.from({ length: 40 }, (_, i) => i % 3);
  const query = Array.from({ length: 25 }, () => Array.from({ length: 6 }, rnd));
  const queryLabels = Array.from({ length: 25 }, (_, i) => (i * 7) % 3);
  for (const k of [1, 5, 20]) {
    const predicted = directKnn(bank, bankLabels, query, k, 0.07, 3);
    const expected = predicted.filter((p, i) => p === queryLabels[i]).length / 25;
    const r = await knnClassify(
      tensor(Float32Array.from(bank.flat()), [40, 6]), tensor(BigInt64Array.from(bankLabels.map(BigInt)), [40]),
      tensor(Float32Array.from(query.flat()), [25, 6]), tensor(BigInt64Array.from(queryLabels.map(BigInt)), [25]),
      { classes: 3, k },
    );
    expect(r.queries).toBe(25);
    expect(r.top1).toBeCloseTo(expected, 12);
    expect(r.top5).toBe(1); // three classes: every label is among the top five
  }
});

test('bad labels and shapes are refused with ERR_INVALID_ARG', async () => {
  const f = tensor(new Float32Array(8), [4, 2]);
  await expect(knnClassify(f, tensor(BigInt64Array.from([0n, 1n, 2n, 5n]), [4]), f, tensor(new BigInt64Array(4), [4]), { classes: 3 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
  await expect(knnClassify(f, tensor(new BigInt64Array(4), [4]), tensor(new Float32Array(6), [2, 3]), tensor(new BigInt64Array(2), [2]), { classes: 3 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
});

test('a monitored run trains exactly as an unmonitored one and logs the kNN accuracy at each monitor step', async () => {
  const store = path.join(dir, 'store');
  await writeSyntheticStore(store, { counts: { train: 40, val: 30, test: 10 } });
  const config = tinyConfig({ inChannels: 1, imageSize: 8, totalSteps: 6 });
  const source = () => syntheticSource({ channels: 1, imageSize: 8, batchSize: 8, poolSize: 32, seed: 4, prefetch: 0 });
  const plain = await pretrain({ config, source: source(), outDir: path.join(dir, 'plain'), reportEvery: 3, checkpointEvery: 6 });
  const found = await createKnnMonitor(store, { every: 2, size: 30 });
  const monitor = found as KnnMonitor;
  expect(monitor.description).toMatch(/30 train rows vs 30 val rows, every 2 steps/);
  const seen: number[] = [];
  let watched;
  try {
    watched = await pretrain({ config, source: source(), outDir: path.join(dir, 'watched'), reportEvery: 3, checkpointEvery: 6, monitor, onMonitor: (m) => seen.push(m.step) });
  } finally {
    monitor.dispose();
  }
  expect(watched.last!.loss).toBe(plain.last!.loss);
  expect(watched.last!.infoNce).toBe(plain.last!.infoNce);
  const a = await readSafetensors(plain.backbone!);
  const b = await readSafetensors(watched.backbone!);
  for (const name of Object.keys(a.tensors)) {
    expect(Array.from(b.tensors[name].toTypedArray() as Float32Array)).toEqual(Array.from(a.tensors[name].toTypedArray() as Float32Array));
  }
  expect(seen).toEqual([2, 4, 6]);
  const rows = readFileSync(path.join(dir, 'watched', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const monitored = rows.filter((r) => r.monitor);
  expect(monitored.map((r) => r.step)).toEqual([2, 4, 6]);
  // The synthetic classes light different quadrants: even a barely trained network's features separate them.
  for (const r of monitored) expect(r.monitor.knnTop1).toBeGreaterThan(1 / 3);
  const csv = readFileSync(path.join(dir, 'watched', 'metrics.csv'), 'utf8').trim().split('\n');
  const column = csv[0].split(',').indexOf('monitor/knn_top1');
  expect(csv.slice(1).filter((r) => r.split(',')[column] !== '').length).toBe(3);
});

test('a multilabel store is not monitored, and says why', async () => {
  const store = path.join(dir, 'multilabel');
  await writeSyntheticStore(store, { task: 'multilabel', counts: { train: 10, val: 10, test: 10 } });
  expect(await createKnnMonitor(store, { every: 2 })).toEqual({ skipped: expect.stringContaining('multilabel') });
});

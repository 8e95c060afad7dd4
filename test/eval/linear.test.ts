// Linear probing on cached eval-mode features: it learns an easy task, the sweep point is the
// validation's best, features are cached per split, label fractions select the training rows,
// and the predictions file follows the contract.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import os from 'os';
import path from 'path';
import { linearProbe, readManifest, readSafetensors } from '../../lib';
import { writeCheckpoints, writeSyntheticStore } from './fixtures';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'imlm-linear-'));

async function readPredictions(file: string) {
  const { tensors, metadata } = await readSafetensors(file);
  const out = {
    metadata,
    shape: tensors.probabilities.shape,
    probabilities: tensors.probabilities.toTypedArray() as Float32Array,
    ids: Array.from(tensors.ids.toTypedArray() as BigInt64Array, Number),
  };
  for (const t of Object.values(tensors)) t.dispose();
  return out;
}

describe('linearProbe', () => {
  let dir: string;
  let store: string;
  let checkpoints: { state: string; backbone: string };

  beforeAll(async () => {
    dir = tmp();
    store = path.join(dir, 'store');
    await writeSyntheticStore(store, { size: 16 });
    checkpoints = await writeCheckpoints(dir);
  });

  // Checkpoints are tens of MB (fine-tuning states ~135 MB): leave nothing behind in /tmp.
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('learns an easy 3-class task far above chance and writes test predictions and results.json', async () => {
    const outDir = path.join(dir, 'run');
    const r = await linearProbe({ checkpoint: checkpoints.state, store, outDir, device: 'cpu', imageSize: 16 });
    expect(r).toMatchObject({ kind: 'linear', task: 'multiclass', metric: 'accuracy', method: 'lbfgs', fraction: 1, counts: { train: 120, val: 60, test: 60 } });
    const [block] = r.blocks;
    expect(block.block).toBe(4);
    expect(block.featureDim).toBe(512);
    expect(block.sweep).toHaveLength(6);
    expect(block.chosen.valMetric).toBeGreaterThan(0.9); // chance is 1/3
    expect(block.test.value).toBeGreaterThan(0.9);
    const p = await readPredictions(block.predictions);
    expect(p.metadata).toMatchObject({ format: 'imlm-native/predictions', format_version: '1', task: 'multiclass' });
    expect(p.shape).toEqual([60, 3]);
    for (let i = 0; i < 60; i++) expect(p.probabilities[3 * i] + p.probabilities[3 * i + 1] + p.probabilities[3 * i + 2]).toBeCloseTo(1, 5);
    expect(p.ids).toEqual(Array.from({ length: 60 }, (_, i) => 180 + i));
    const saved = JSON.parse(readFileSync(r.results, 'utf8'));
    expect(saved.blocks[0].chosen).toEqual(block.chosen);
    expect(existsSync(path.join(outDir, 'features', 'train.safetensors'))).toBe(true);
  });

  test('the sweep keeps the point with the best validation metric, not the best training fit', async () => {
    // A harder task (faint squares), where the L2 strength changes the validation accuracy.
    const hard = path.join(dir, 'hard');
    await writeSyntheticStore(hard, { size: 16, contrast: 20 });
    const sweep = [10, 1, 1e-1, 1e-2, 1e-4, 0].map((weightDecay) => ({ weightDecay }));
    const r = await linearProbe({ checkpoint: checkpoints.state, store: hard, outDir: path.join(dir, 'sweep'), device: 'cpu', imageSize: 16, sweep });
    const [block] = r.blocks;
    const metrics = block.sweep.map((s) => s.valMetric);
    expect(new Set(metrics).size).toBeGreaterThan(1);
    expect(block.chosen.index).toBe(metrics.indexOf(Math.max(...metrics)));
    expect(block.chosen.valMetric).toBe(Math.max(...metrics));
    const losses = block.sweep.map((s) => s.trainLoss);
    const bestFit = losses.indexOf(Math.min(...losses));
    expect(metrics[bestFit]).toBeLessThan(block.chosen.valMetric);
  });

  test('a label fraction trains on its recorded rows; a second run reuses the cached features', async () => {
    const outDir = path.join(dir, 'fraction');
    const first = await linearProbe({ checkpoint: checkpoints.state, store, outDir, device: 'cpu', imageSize: 16, fraction: 0.25 });
    const manifest = await readManifest(store);
    expect(first.counts.train).toBe(manifest.labelFractions!.fractions['0.25'].count);
    expect(first.featuresCached).toEqual({ train: false, val: false, test: false });
    // Only the fraction's training rows ran through the network (the whole val and test splits did).
    expect(first.forwardedRows).toEqual({ train: first.counts.train, val: manifest.splits.val!.count, test: manifest.splits.test!.count });
    expect(first.counts.train).toBeLessThan(manifest.splits.train!.count);
    const second = await linearProbe({ checkpoint: checkpoints.state, store, outDir, device: 'cpu', imageSize: 16, fraction: 0.25 });
    expect(second.featuresCached).toEqual({ train: true, val: true, test: true });
    expect(second.blocks[0].sweep.map((s) => s.valMetric)).toEqual(first.blocks[0].sweep.map((s) => s.valMetric));
    // Another image size is another cache key: computed again.
    const third = await linearProbe({ checkpoint: checkpoints.state, store, outDir, device: 'cpu', imageSize: 12, fraction: 0.25 });
    expect(third.featuresCached.train).toBe(false);
    await expect(linearProbe({ checkpoint: checkpoints.state, store, outDir, device: 'cpu', fraction: 0.3 })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG',
      message: expect.stringContaining('(0.25, 0.5, 1)'),
    });
  });

  test('probes at several fractions share one features folder: the whole split runs once, a fraction then forwards no rows and fits the same head as on its own rows', async () => {
    const featuresDir = path.join(dir, 'shared-features');
    const full = await linearProbe({ checkpoint: checkpoints.state, store, outDir: path.join(dir, 'f100'), featuresDir, device: 'cpu', imageSize: 16 });
    const manifest = await readManifest(store);
    expect(full.forwardedRows.train).toBe(manifest.splits.train!.count);
    const quarter = await linearProbe({ checkpoint: checkpoints.state, store, outDir: path.join(dir, 'f25'), featuresDir, device: 'cpu', imageSize: 16, fraction: 0.25 });
    expect(quarter.forwardedRows).toEqual({ train: 0, val: 0, test: 0 });
    const alone = await linearProbe({ checkpoint: checkpoints.state, store, outDir: path.join(dir, 'f25-alone'), device: 'cpu', imageSize: 16, fraction: 0.25 });
    expect(alone.forwardedRows.train).toBe(quarter.counts.train);
    expect(alone.blocks[0].sweep.map((p) => p.valMetric)).toEqual(quarter.blocks[0].sweep.map((p) => p.valMetric));
    // A new label-fraction draw (another seed): as many rows per class, other rows; the recorded seed gives the recorded rows.
    const drawn = await linearProbe({ checkpoint: checkpoints.state, store, outDir: path.join(dir, 'f25-draw'), featuresDir, device: 'cpu', imageSize: 16, fraction: 0.25, fractionSeed: 7 });
    expect(drawn.counts.train).toBe(quarter.counts.train);
    const recordedSeed = await linearProbe({
      checkpoint: checkpoints.state, store, outDir: path.join(dir, 'f25-seed'), featuresDir, device: 'cpu', imageSize: 16, fraction: 0.25, fractionSeed: manifest.labelFractions!.seed,
    });
    expect(recordedSeed.blocks[0].sweep.map((p) => p.valMetric)).toEqual(quarter.blocks[0].sweep.map((p) => p.valMetric));
  });

  test('mini-batch Adam also learns (the reference\'s optimiser)', async () => {
    const r = await linearProbe({ checkpoint: checkpoints.backbone, store, outDir: path.join(dir, 'adam'), device: 'cpu', imageSize: 16, method: 'adam', epochs: 20, batchSize: 32, sweep: [{ lr: 1e-2, weightDecay: 0 }] });
    expect(r.blocks[0].chosen.valMetric).toBeGreaterThan(0.9);
  });

  test('multilabel: sigmoid probabilities and macro AUC well above 0.5', async () => {
    const mlStore = path.join(dir, 'multilabel');
    await writeSyntheticStore(mlStore, { task: 'multilabel', classes: 3, size: 16 });
    const r = await linearProbe({ checkpoint: checkpoints.state, store: mlStore, outDir: path.join(dir, 'ml'), device: 'cpu', imageSize: 16 });
    expect(r.metric).toBe('auc');
    expect(r.blocks[0].chosen.valMetric).toBeGreaterThan(0.9);
    const p = await readPredictions(r.blocks[0].predictions);
    expect(p.shape).toEqual([60, 3]);
    expect(p.metadata.task).toBe('multilabel');
    expect(p.probabilities.every((v) => v >= 0 && v <= 1)).toBe(true);
    const rowSums = Array.from({ length: 60 }, (_, i) => p.probabilities[3 * i] + p.probabilities[3 * i + 1] + p.probabilities[3 * i + 2]);
    expect(rowSums.some((s) => Math.abs(s - 1) > 0.1)).toBe(true); // not a softmax
    await expect(linearProbe({ checkpoint: checkpoints.state, store: mlStore, outDir: path.join(dir, 'ml2'), device: 'cpu', metric: 'accuracy' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
  });

  test('binary: two probability columns, selected on AUC when asked', async () => {
    const binStore = path.join(dir, 'binary');
    await writeSyntheticStore(binStore, { task: 'binary', size: 16 });
    const r = await linearProbe({ checkpoint: checkpoints.state, store: binStore, outDir: path.join(dir, 'bin'), device: 'cpu', imageSize: 16, metric: 'auc' });
    expect(r.metric).toBe('auc');
    expect(r.blocks[0].chosen.valMetric).toBeGreaterThan(0.9);
    expect((await readPredictions(r.blocks[0].predictions)).shape).toEqual([60, 2]);
  });
});

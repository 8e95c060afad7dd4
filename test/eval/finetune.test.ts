// Fine-tuning at a label fraction: from a checkpoint and from scratch, validation every few
// steps, early stopping, test predictions from the selected (best) network, resuming.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import os from 'os';
import path from 'path';
import { finetune, readSafetensors, type FinetuneResult } from '../../lib';
import { loadSplit } from '../../lib/data/store';
import { native } from '../../lib/native';
import { resolvePolicy } from '../../lib/data/policies';
import { writeCheckpoints, writeSyntheticStore } from './fixtures';
import { readEventFile } from '../helpers/event-file';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'imlm-finetune-'));

async function probabilitiesOf(file: string): Promise<Float32Array> {
  const { tensors } = await readSafetensors(file);
  const p = tensors.probabilities.toTypedArray() as Float32Array;
  for (const t of Object.values(tensors)) t.dispose();
  return p;
}

/** Test-split probabilities of a saved fine-tuning state, through a fresh Finetuner. */
async function predictWith(state: string, store: string, from: { checkpoint?: string }): Promise<Float32Array> {
  const train = await loadSplit(store, 'train');
  const test = await loadSplit(store, 'test');
  const ft = await native().createFinetuner(
    { ...from, arch: 'resnet18', stem: 'small', inChannels: 1, task: 'multiclass', numClasses: 3, lr: 1e-3, weightDecay: 0, batchSize: 16, policy: resolvePolicy('none'), imageSize: 8, device: 'cpu', seed: 0, zeroInitResidual: false, threads: 0 },
    train.images,
    train.labels,
  );
  await ft.load(state);
  const p = await ft.predict(test.images, { batchSize: 256 });
  const out = p.toTypedArray() as Float32Array;
  for (const t of [p, train.images, train.labels, train.ids, test.images, test.labels, test.ids]) t.dispose();
  return out;
}

const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('finetune', () => {
  let dir: string;
  let store: string;
  let checkpoints: { state: string; backbone: string };

  beforeAll(async () => {
    dir = tmp();
    store = path.join(dir, 'store');
    await writeSyntheticStore(store);
    checkpoints = await writeCheckpoints(dir);
  });

  // Checkpoints are tens of MB (fine-tuning states ~135 MB): leave nothing behind in /tmp.
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('from a checkpoint: validates, stops early, and predicts test with the selected network', async () => {
    const outDir = path.join(dir, 'pretrained');
    const r = await finetune({ checkpoint: checkpoints.state, store, outDir, device: 'cpu', fraction: 0.5, maxSteps: 60, evalEvery: 4, patience: 3 });
    expect(r).toMatchObject({ kind: 'finetune', cancelled: false, fromScratch: false, task: 'multiclass', metric: 'accuracy', fraction: 0.5, counts: { train: 60, val: 60, test: 60 } });
    expect(r.settings).toMatchObject({ lr: 1e-3, weightDecay: 0, batchSize: 16, stepsPerEpoch: 3, evalEvery: 4, maxSteps: 60 });
    expect(r.initialisation).toContain('train-state');
    // Early stopping: the last `patience` validations did not beat the best, before the budget ran out.
    expect(r.stoppedEarly).toBe(true);
    expect(r.stepsCompleted).toBe(r.history[r.history.length - 1].step);
    expect(r.stepsCompleted).toBeLessThan(60);
    const metrics = r.history.map((h) => h.valMetric);
    expect(r.history.map((h) => h.step)).toEqual(metrics.map((_, i) => 4 * (i + 1)));
    expect(r.best!.valMetric).toBe(Math.max(...metrics));
    expect(r.best!.step).toBe(r.history[metrics.indexOf(Math.max(...metrics))].step);
    expect(metrics.slice(-3).every((m) => m <= r.best!.valMetric)).toBe(true);
    expect(r.best!.valMetric).toBeGreaterThan(0.5); // chance is 1/3
    // The predictions are the best checkpoint's, not the last one's (the reference's Q7 bug).
    const written = await probabilitiesOf(r.predictions!);
    expect(maxAbsDiff(written, await predictWith(r.bestCheckpoint!, store, { checkpoint: checkpoints.state }))).toBeLessThan(1e-6);
    if (r.best!.step !== r.stepsCompleted) {
      expect(maxAbsDiff(written, await predictWith(path.join(outDir, 'checkpoints', 'last.safetensors'), store, { checkpoint: checkpoints.state }))).toBeGreaterThan(1e-4);
    }
    const saved = JSON.parse(readFileSync(r.results, 'utf8')) as FinetuneResult;
    expect(saved.best).toEqual(r.best);
    expect(saved.test).toEqual(r.test);
    const { metadata } = await readSafetensors(r.bestCheckpoint!, { mmap: true }).then((c) => {
      for (const t of Object.values(c.tensors)) t.dispose();
      return c;
    });
    expect(metadata).toMatchObject({ format: 'imlm-native/finetune-state', image_size: '8', task: 'multiclass' });
    await expect(finetune({ checkpoint: checkpoints.state, store, outDir, device: 'cpu' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG', message: expect.stringContaining('--resume') });
  });

  test('from scratch (the supervised baseline) runs with a random initialisation', async () => {
    const r = await finetune({ fromScratch: true, arch: 'resnet18', stem: 'small', store, outDir: path.join(dir, 'scratch'), device: 'cpu', maxSteps: 6, evalEvery: 3 });
    expect(r.fromScratch).toBe(true);
    expect(r.initialisation).toMatch(/^random \(from scratch, seed 0, resnet18\)/);
    expect(r.history).toHaveLength(2);
    expect(existsSync(r.predictions!)).toBe(true);
    // The run's logs: every validation's metric in the CSV and in TensorBoard.
    const csv = readFileSync(path.join(r.outDir, 'metrics.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('step,time,loss/train,validation/metric,validation/best');
    const events = readdirSync(r.outDir).filter((n) => n.startsWith('events.out.tfevents.'));
    expect(events).toHaveLength(1);
    const validations = readEventFile(path.join(r.outDir, events[0])).filter((e) => 'validation/metric' in e.scalars);
    expect(validations.map((e) => e.step)).toEqual([3, 6]);
    validations.forEach((e, k) => expect(e.scalars['validation/metric']).toBeCloseTo(r.history[k].valMetric, 6));
    await expect(finetune({ store, outDir: path.join(dir, 'neither'), device: 'cpu' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG', message: expect.stringContaining('--from-scratch') });
  });

  test('a resumed run validates and predicts exactly as an uninterrupted one', async () => {
    const common = { checkpoint: checkpoints.backbone, store, device: 'cpu', evalEvery: 3, patience: 10, augment: 'mocov2' };
    const straight = await finetune({ ...common, outDir: path.join(dir, 'straight'), maxSteps: 6 });
    const outDir = path.join(dir, 'resumed');
    const first = await finetune({ ...common, outDir, maxSteps: 3 });
    expect(first.stepsCompleted).toBe(3);
    const resumed = await finetune({ store, outDir, resume: true, maxSteps: 6 });
    expect(resumed.stepsCompleted).toBe(6);
    expect(resumed.history.map((h) => h.valMetric)).toEqual(straight.history.map((h) => h.valMetric));
    expect(maxAbsDiff(await probabilitiesOf(resumed.predictions!), await probabilitiesOf(straight.predictions!))).toBeLessThan(1e-6);
  });

  test('cancelling mid-run saves the last state; --resume finishes the run', async () => {
    const outDir = path.join(dir, 'interrupted');
    const controller = new AbortController();
    const stopped = await finetune({
      checkpoint: checkpoints.state, store, outDir, device: 'cpu', maxSteps: 6, evalEvery: 3,
      onProgress: (p) => p.stage === 'validate' && controller.abort(),
      signal: controller.signal,
    });
    expect(stopped.cancelled).toBe(true);
    expect(stopped.stepsCompleted).toBe(3);
    expect(stopped.predictions).toBeNull();
    expect(existsSync(path.join(outDir, 'checkpoints', 'last.safetensors'))).toBe(true);
    const finished = await finetune({ store, outDir, resume: true });
    expect(finished.cancelled).toBe(false);
    expect(finished.stepsCompleted).toBe(6);
    expect(finished.history.map((h) => h.step)).toEqual([3, 6]);
    expect(existsSync(finished.predictions!)).toBe(true);
  });

  test('one operation at a time on a Finetuner (ERR_BUSY)', async () => {
    const train = await loadSplit(store, 'train');
    const ft = await native().createFinetuner(
      { arch: 'resnet18', stem: 'small', inChannels: 1, task: 'multiclass', numClasses: 3, lr: 1e-3, weightDecay: 0, batchSize: 16, policy: resolvePolicy('none'), imageSize: 8, device: 'cpu', seed: 0, zeroInitResidual: false, threads: 0 },
      train.images,
      train.labels,
    );
    const running = ft.run({ steps: 2, reportEvery: 10 });
    expect(() => ft.predict(train.images, { batchSize: 256 })).toThrow(expect.objectContaining({ code: 'ERR_BUSY' }));
    await expect(running).resolves.toMatchObject({ stepsRun: 2, stepsCompleted: 2 });
    for (const t of [train.images, train.labels, train.ids]) t.dispose();
  });

  test('an aborted signal stops before training and reports cancelled', async () => {
    const controller = new AbortController();
    controller.abort();
    const r = await finetune({ checkpoint: checkpoints.state, store, outDir: path.join(dir, 'cancelled'), device: 'cpu', maxSteps: 6, signal: controller.signal });
    expect(r.cancelled).toBe(true);
    expect(r.predictions).toBeNull();
  });
});

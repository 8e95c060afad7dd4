// The training engine through its public API, on the real addon and LibTorch.
import { mkdtempSync } from 'fs';
import os from 'os';
import path from 'path';
import { Trainer, fixedBatchesSource, readSafetensors, syntheticSource, tensor, type StepMetrics } from '../../lib';
import { tinyConfig } from '../helpers/configs';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'imlm-train-'));

/** S steps of the same batch of 8 random 16×16 images; the key view is brighter. */
function fixedBatch(steps: number) {
  const per = 8 * 3 * 16 * 16;
  const base = Float32Array.from({ length: per }, (_, i) => ((i * 2654435761) % 1000) / 1000);
  const q = new Float32Array(steps * per);
  const k = new Float32Array(steps * per);
  for (let s = 0; s < steps; s++) {
    q.set(base, s * per);
    k.set(base.map((v) => Math.min(1, v * 1.1)), s * per);
  }
  const shape = [steps, 8, 3, 16, 16];
  return { q: tensor(q, shape), k: tensor(k, shape) };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('Trainer', () => {
  test('the intermediate losses fall over 50 steps on a fixed synthetic batch', async () => {
    // On one fixed batch the queue fills with keys of the very same images, so InfoNCE cannot
    // fall there (it rises towards log(1 + copies)); the block terms are what this shows.
    const { q, k } = fixedBatch(50);
    const barlow = await Trainer.create(
      tinyConfig({ temperature: 0.2, intermediate: { loss: 'barlow', barlow: { projectorDims: [64, 64, 64], weighting: 'original', lambda: 5e-3, scale: 1 } } }),
    );
    const b: StepMetrics[] = [];
    await barlow.run(fixedBatchesSource(q, k), { steps: 50, reportEvery: 1, onProgress: (p) => b.push(p) });
    expect(b).toHaveLength(50);
    expect(mean(b.slice(45).map((m) => m.loss))).toBeLessThan(0.8 * mean(b.slice(5, 10).map((m) => m.loss)));

    // MSE weighted up so the block terms, not the queue-bound InfoNCE, drive the gradient.
    const mse = await Trainer.create(tinyConfig({ temperature: 0.2, intermediate: { loss: 'mse', mse: { poolSizes: [4, 4, 2, 1], weights: [100, 100, 100, 100] } } }));
    const m: StepMetrics[] = [];
    await mse.run(fixedBatchesSource(q, k), { steps: 50, reportEvery: 1, onProgress: (p) => m.push(p) });
    const blockSum = (x: StepMetrics) => x.blocks.reduce((s, v) => s + v, 0);
    expect(mean(m.slice(45).map(blockSum))).toBeLessThan(0.8 * mean(m.slice(5, 10).map(blockSum)));
    q.dispose();
    k.dispose();
  });

  test('the queue wraps around for a batch size that does not divide K', async () => {
    // K = 20, N = 8: pointers 8, 16, 4; step 3 writes columns 16..19 and 0..3.
    const dir = tmp();
    const trainer = await Trainer.create(tinyConfig({ queueSize: 20 }));
    const source = syntheticSource({ channels: 3, imageSize: 16, batchSize: 8, poolSize: 32 });
    const queues: Float32Array[] = [];
    const pointers: number[] = [];
    for (let step = 0; step <= 3; step++) {
      if (step > 0) await trainer.run(source, { steps: 1 });
      const file = path.join(dir, `s${step}.safetensors`);
      await trainer.save(file);
      const { tensors } = await readSafetensors(file);
      queues.push(tensors.queue.toTypedArray() as Float32Array);
      pointers.push(Number((tensors.queue_ptr.toTypedArray() as BigInt64Array)[0]));
      for (const t of Object.values(tensors)) t.dispose();
    }
    expect(pointers).toEqual([0, 8, 16, 4]);
    const column = (q: Float32Array, j: number) => Array.from({ length: 32 }, (_, d) => q[d * 20 + j]);
    const changed = (a: Float32Array, b: Float32Array) =>
      Array.from({ length: 20 }, (_, j) => column(a, j).some((v, d) => v !== column(b, j)[d]));
    const range = (from: number, to: number) => Array.from({ length: 20 }, (_, j) => j >= from && j < to);
    expect(changed(queues[0], queues[1])).toEqual(range(0, 8));
    expect(changed(queues[1], queues[2])).toEqual(range(8, 16));
    expect(changed(queues[2], queues[3])).toEqual(range(16, 20).map((v, j) => v || j < 4));
    // Every written column is an L2-normalised key.
    for (let j = 0; j < 20; j++) expect(Math.hypot(...column(queues[3], j))).toBeCloseTo(1, 4);
  });

  test('more keys than queue slots keep the last K and advance the pointer by N', async () => {
    const trainer = await Trainer.create(tinyConfig({ queueSize: 6 }));
    const dir = tmp();
    await trainer.run(syntheticSource({ channels: 3, imageSize: 16, batchSize: 8, poolSize: 32 }), { steps: 1 });
    await trainer.save(path.join(dir, 'a.safetensors'));
    const { tensors } = await readSafetensors(path.join(dir, 'a.safetensors'));
    expect(Number((tensors.queue_ptr.toTypedArray() as BigInt64Array)[0])).toBe(8 % 6);
  });

  test('resuming from a checkpoint gives the same losses as a run never interrupted', async () => {
    // shuffleGroups 2 makes every step draw from the trainer's generator, so its state must
    // travel in the checkpoint too.
    const config = tinyConfig({ shuffleGroups: 2, optimizer: { schedule: 'cosine', warmupSteps: 2 }, totalSteps: 6 });
    const source = () => syntheticSource({ channels: 3, imageSize: 16, batchSize: 8, poolSize: 64, seed: 5 });
    const straight = await Trainer.create(config);
    const a: StepMetrics[] = [];
    await straight.run(source(), { steps: 6, reportEvery: 1, onProgress: (p) => a.push(p) });

    const dir = tmp();
    const first = await Trainer.create(config);
    const b: StepMetrics[] = [];
    await first.run(source(), { steps: 3, reportEvery: 1, onProgress: (p) => b.push(p) });
    await first.save(path.join(dir, 'mid.safetensors'));
    const second = await Trainer.create({ ...config, seed: 999 }); // a different init, replaced by the load
    await second.load(path.join(dir, 'mid.safetensors'));
    expect(second.stepsCompleted).toBe(3);
    await second.run(source(), { steps: 3, reportEvery: 1, onProgress: (p) => b.push(p) });

    expect(b.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6]);
    for (let i = 0; i < 6; i++) {
      expect(Math.abs(b[i].loss - a[i].loss)).toBeLessThanOrEqual(1e-6);
      expect(b[i].lr).toBe(a[i].lr);
    }
  });

  test('prefetching batches on background threads does not change what a step sees', async () => {
    const config = tinyConfig();
    const losses = async (prefetch: number) => {
      const trainer = await Trainer.create(config);
      const out: number[] = [];
      const source = syntheticSource({ channels: 3, imageSize: 16, batchSize: 8, poolSize: 64, seed: 9, prefetch });
      await trainer.run(source, { steps: 5, reportEvery: 1, onProgress: (p) => out.push(p.loss) });
      return out;
    };
    expect(await losses(3)).toEqual(await losses(0));
  });

  test('an AbortSignal stops after the current step and resolves', async () => {
    const trainer = await Trainer.create(tinyConfig());
    const controller = new AbortController();
    const summary = await trainer.run(syntheticSource({ channels: 3, imageSize: 16, batchSize: 8 }), {
      steps: 1000,
      reportEvery: 1,
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    expect(summary.cancelled).toBe(true);
    expect(summary.stepsRun).toBeGreaterThanOrEqual(1);
    expect(summary.stepsRun).toBeLessThan(5);
    expect(trainer.stepsCompleted).toBe(summary.stepsRun);
  });

  test('training never blocks the event loop', async () => {
    const trainer = await Trainer.create(tinyConfig());
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const summary = await trainer.run(syntheticSource({ channels: 3, imageSize: 16, batchSize: 8 }), { steps: 8 });
    clearInterval(timer);
    // At least one tick per 50 ms of training.
    expect(ticks).toBeGreaterThan((summary.seconds * 1000) / 50);
  });

  test('a second operation while one runs is refused with ERR_BUSY', async () => {
    const trainer = await Trainer.create(tinyConfig());
    const source = syntheticSource({ channels: 3, imageSize: 16, batchSize: 8 });
    const running = trainer.run(source, { steps: 3 });
    expect(() => trainer.save(path.join(tmp(), 'x.safetensors'))).toThrow(expect.objectContaining({ code: 'ERR_BUSY' }));
    await running;
    await expect(trainer.save(path.join(tmp(), 'x.safetensors'))).resolves.toBeUndefined();
  });

  test('a throwing progress callback stops the run and rejects with its error', async () => {
    const trainer = await Trainer.create(tinyConfig());
    await expect(
      trainer.run(syntheticSource({ channels: 3, imageSize: 16, batchSize: 8 }), {
        steps: 50,
        reportEvery: 1,
        onProgress: () => {
          throw new Error('stop here');
        },
      }),
    ).rejects.toThrow('stop here');
    expect(trainer.stepsCompleted).toBeLessThan(5);
  });

  test('an unknown architecture or preset is refused with ERR_INVALID_ARG', async () => {
    expect(() => tinyConfig({ arch: 'resnet200' as 'resnet18' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG', message: expect.stringContaining('config.arch') }));
    const { resolveTrainConfig } = await import('../../lib');
    expect(() => resolveTrainConfig('simclr')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG', message: expect.stringContaining("'kaku2021'") }));
  });
});

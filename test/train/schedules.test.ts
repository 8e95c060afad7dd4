// Learning-rate and key-momentum schedules, gradient clipping and the MLP head, seen through the
// metrics and states of real training steps.
import { mkdtempSync } from 'fs';
import os from 'os';
import path from 'path';
import { Trainer, readSafetensors, syntheticSource, type StepMetrics, type TrainConfigOverrides } from '../../lib';
import { tinyConfig } from '../helpers/configs';

async function metricsOf(overrides: TrainConfigOverrides, steps: number): Promise<StepMetrics[]> {
  const trainer = await Trainer.create(tinyConfig(overrides));
  const out: StepMetrics[] = [];
  await trainer.run(syntheticSource({ channels: 3, imageSize: 16, batchSize: 8, poolSize: 32 }), { steps, reportEvery: 1, onProgress: (p) => out.push(p) });
  return out;
}

describe('schedules', () => {
  test('linear warm-up then cosine decay of the learning rate', async () => {
    const m = await metricsOf({ totalSteps: 6, optimizer: { lr: 0.1, schedule: 'cosine', warmupSteps: 2 } }, 6);
    const expected = [0.05, 0.1, ...[0, 1, 2, 3].map((t) => 0.1 * 0.5 * (1 + Math.cos((Math.PI * t) / 4)))];
    m.forEach((s, i) => expect(s.lr).toBeCloseTo(expected[i], 12));
  });

  test('step schedule: ×gamma at each milestone', async () => {
    const m = await metricsOf({ optimizer: { lr: 0.1, schedule: 'step', milestones: [1, 3], gamma: 0.5 } }, 4);
    expect(m.map((s) => s.lr)).toEqual([0.1, 0.05, 0.05, 0.025]);
  });

  test('cosine key momentum goes from m towards 1', async () => {
    const m = await metricsOf({ totalSteps: 4, keyMomentum: 0.99, keyMomentumSchedule: 'cosine' }, 3);
    const expected = [0, 1, 2].map((t) => 1 - (1 - 0.99) * (Math.cos((Math.PI * t) / 4) + 1) / 2);
    m.forEach((s, i) => expect(s.keyMomentum).toBeCloseTo(expected[i], 12));
    expect(m[0].keyMomentum).toBeCloseTo(0.99, 12);
  });

  test('gradient clipping bounds the update', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'imlm-clip-'));
    const moved = async (gradClip: number) => {
      const trainer = await Trainer.create(tinyConfig({ optimizer: { gradClip, momentum: 0, weightDecay: 0 } }));
      const before = path.join(dir, `before-${gradClip}.safetensors`);
      const after = path.join(dir, `after-${gradClip}.safetensors`);
      await trainer.save(before);
      await trainer.run(syntheticSource({ channels: 3, imageSize: 16, batchSize: 8 }), { steps: 1 });
      await trainer.save(after);
      const a = (await readSafetensors(before)).tensors['encoder_q.fc.weight'].toTypedArray() as Float32Array;
      const b = (await readSafetensors(after)).tensors['encoder_q.fc.weight'].toTypedArray() as Float32Array;
      return Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0));
    };
    // Plain SGD: the step is lr · g, and with clipping ‖g‖ ≤ 1e-3 overall.
    expect(await moved(1e-3)).toBeLessThanOrEqual(0.03 * 1e-3 * 1.0001);
    expect(await moved(0)).toBeGreaterThan(0.03 * 1e-3 * 10);
  });

  test('the MLP head (mocov2) has torchvision-style fc.0 / fc.2 weights', async () => {
    const trainer = await Trainer.create(tinyConfig({ head: 'mlp' }));
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'imlm-mlp-')), 's.safetensors');
    await trainer.run(syntheticSource({ channels: 3, imageSize: 16, batchSize: 8 }), { steps: 1 });
    await trainer.save(file);
    const { tensors } = await readSafetensors(file);
    expect(tensors['encoder_q.fc.0.weight'].shape).toEqual([512, 512]);
    expect(tensors['encoder_q.fc.2.weight'].shape).toEqual([32, 512]);
    expect(tensors['encoder_q.fc.weight']).toBeUndefined();
  });
});

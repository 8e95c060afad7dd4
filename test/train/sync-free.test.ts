// Sync-free steps: between reports a step makes no device→host read (so on a GPU the host never
// waits for the device), shown by counting the ATen operators each step calls (RecordFunction,
// the hooks the profiler uses); a step whose loss or gradients are not finite is skipped on the
// device and the run stops at the next report, naming it.
import { mkdtempSync } from 'fs';
import os from 'os';
import path from 'path';
import { Trainer, fixedBatchesSource, readSafetensors, tensor, type StepOpCounts } from '../../lib';
import { tinyConfig } from '../helpers/configs';
import { rejection } from '../helpers/rejection';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'imlm-sync-'));

/** What reads a device tensor on the host: .item() and bool conversions end in _local_scalar_dense. */
const HOST_READS = ['aten::_local_scalar_dense', 'aten::item', 'aten::is_nonzero', 'imlm::device_to_host'];

function hostReads(step: StepOpCounts): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of HOST_READS) {
    if (step.ops[name]) out[name] = step.ops[name][0];
  }
  return out;
}

/** S fixed batches of N random images (3×16×16) in [0, 1], and the same with NaN keys in batch `poison`. */
function batches(steps: number, poison = -1) {
  const per = 8 * 3 * 16 * 16;
  const shape = [steps, 8, 3, 16, 16];
  const q = new Float32Array(steps * per).map(() => Math.random());
  const k = new Float32Array(steps * per).map(() => Math.random());
  const bad = Float32Array.from(k);
  if (poison >= 0) bad.fill(NaN, poison * per, poison * per + per);
  return {
    good: () => fixedBatchesSource(tensor(q, shape), tensor(k, shape), 0),
    poisoned: () => fixedBatchesSource(tensor(q, shape), tensor(bad, shape), 0),
  };
}

async function weights(trainer: Trainer): Promise<Record<string, Float32Array>> {
  const file = path.join(tmp(), 'backbone.safetensors');
  await trainer.exportBackbone(file);
  const { tensors } = await readSafetensors(file);
  const out: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(tensors)) {
    if (!name.includes('running') && !name.includes('num_batches')) out[name] = t.toTypedArray() as Float32Array;
  }
  return out;
}

describe('sync-free training steps', () => {
  test.each([
    ['mse', {}],
    ['barlow', {}],
    ['none', {}],
    ['mse with gradient clipping and shuffle-BN emulation', { optimizer: { gradClip: 1 }, shuffleGroups: 2 }],
  ])('%s: no host read between reports, one at each report', async (name, overrides) => {
    const loss = name.split(' ')[0] as 'mse' | 'barlow' | 'none';
    const trainer = await Trainer.create(tinyConfig({ ...overrides, intermediate: { loss } }));
    const summary = await trainer.run(batches(8).good(), { steps: 8, reportEvery: 4, countOps: true });
    const counts = summary.opCounts!;
    expect(counts.map((s) => s.report)).toEqual([false, false, false, true, false, false, false, true]);
    for (const step of counts) {
      // Each step really was counted (a forward, a backward and an update of a ResNet-18).
      expect(step.ops['aten::convolution']?.[0]).toBeGreaterThanOrEqual(20);
      expect(step.ops['aten::convolution_backward']?.[0]).toBeGreaterThanOrEqual(20); // every conv of ResNet-18
      expect(hostReads(step)).toEqual(step.report ? { 'imlm::device_to_host': 1 } : {});
    }
    expect(summary.last!.loss).toBeGreaterThan(0);
    expect(summary.last!.step).toBe(8);
  });

  test('progress reports the interval means of the steps since the previous report', async () => {
    const trainer = await Trainer.create(tinyConfig());
    const data = batches(6);
    const reports: { loss: number; mean: { steps: number; loss: number } }[] = [];
    await trainer.run(data.good(), { steps: 6, reportEvery: 3, onProgress: (p) => reports.push(p) });
    expect(reports.map((r) => r.mean.steps)).toEqual([3, 3]);
    // The same steps one at a time: each report's mean is the mean of its three losses.
    const again = await Trainer.create(tinyConfig());
    const losses: number[] = [];
    await again.run(data.good(), { steps: 6, reportEvery: 1, onProgress: (p) => losses.push(p.loss) });
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(reports[0].mean.loss).toBeCloseTo(mean(losses.slice(0, 3)), 5);
    expect(reports[1].mean.loss).toBeCloseTo(mean(losses.slice(3, 6)), 5);
    expect(reports[1].loss).toBeCloseTo(losses[5], 5);
  });

  test('a non-finite step is skipped on the device, later steps still run, the report names it', async () => {
    const trainer = await Trainer.create(tinyConfig());
    // Step 3's keys are NaN (so its loss and every gradient are NaN); step 4 is finite again.
    const data = batches(4, 2).poisoned();
    await trainer.run(data, { steps: 2, reportEvery: 2 });
    const e = await rejection(trainer.run(data, { steps: 2, reportEvery: 2 }));
    expect(e.code).toBe('ERR_NON_FINITE');
    expect(e.message).toContain('at step 3');
    expect(e.message).toContain("that step's update was not applied");
    expect(e.message).toContain('after step 4');
    expect(trainer.stepsCompleted).toBe(4);
    const after = await weights(trainer);
    expect(Object.keys(after).length).toBeGreaterThan(50);
    for (const values of Object.values(after)) expect(values.every(Number.isFinite)).toBe(true);
  });

  test('the skipped step leaves every weight bit-identical; the same step with finite data moves them', async () => {
    const data = batches(3, 2);
    const trainer = await Trainer.create(tinyConfig());
    const poisoned = data.poisoned();
    await trainer.run(poisoned, { steps: 2, reportEvery: 2 });
    const before = await weights(trainer);
    const e = await rejection(trainer.run(poisoned, { steps: 1 }));
    expect(e.code).toBe('ERR_NON_FINITE');
    expect(e.message).toContain('at step 3');
    const after = await weights(trainer);
    for (const [name, values] of Object.entries(before)) {
      expect(Buffer.from(after[name].buffer).equals(Buffer.from(values.buffer))).toBe(true);
    }
    // The control: the same trainer and batches with finite keys at step 3.
    const control = await Trainer.create(tinyConfig());
    const good = data.good();
    await control.run(good, { steps: 2, reportEvery: 2 });
    const controlBefore = await weights(control);
    for (const [name, values] of Object.entries(before)) {
      expect(Buffer.from(controlBefore[name].buffer).equals(Buffer.from(values.buffer))).toBe(true);
    }
    await control.run(good, { steps: 1 });
    const moved = await weights(control);
    expect(Buffer.from(moved['conv1.weight'].buffer).equals(Buffer.from(before['conv1.weight'].buffer))).toBe(false);
  });
});

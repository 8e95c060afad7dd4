// Loads are transactional and strict: a refused checkpoint changes nothing in the trainer, and
// every consumer of weights checks dtype and shape as strictly as Trainer.loadBackbone.
import { mkdtempSync } from 'fs';
import os from 'os';
import path from 'path';
import { Trainer, embed, readSafetensors, syntheticSource, tensor, writeSafetensors } from '../../lib';
import { tinyConfig } from '../helpers/configs';
import { rejection } from '../helpers/rejection';
import { writeSyntheticStore } from '../eval/fixtures';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'imlm-load-'));
const source = () => syntheticSource({ channels: 3, imageSize: 16, batchSize: 8, poolSize: 32 });

/** The trainer's whole state as bytes per tensor (save refuses nothing here: the state is finite). */
async function snapshot(trainer: Trainer, dir: string): Promise<Record<string, Buffer>> {
  const file = path.join(dir, `snapshot-${Math.random().toString(36).slice(2)}.safetensors`);
  await trainer.save(file);
  const { tensors } = await readSafetensors(file);
  const out: Record<string, Buffer> = {};
  for (const [name, t] of Object.entries(tensors)) {
    const data = t.toTypedArray();
    out[name] = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  }
  return out;
}

describe('transactional, strict loads', () => {
  test.each([
    ['an invalid generator state (rng.cpu)', (t: Record<string, ReturnType<typeof tensor>>) => ({ ...t, 'rng.cpu': tensor(new Uint8Array(7), [7]) }), "tensor 'rng.cpu' is not a valid generator state"],
    ['a queue pointer outside the queue', (t: Record<string, ReturnType<typeof tensor>>) => ({ ...t, queue_ptr: tensor(new BigInt64Array([1000n]), [1]) }), "tensor 'queue_ptr' should be in [0, 64)"],
    ['a negative step', (t: Record<string, ReturnType<typeof tensor>>) => ({ ...t, step: tensor(new BigInt64Array([-3n]), []) }), "tensor 'step' should be >= 0"],
  ])('a checkpoint with %s is refused and the trainer is left exactly as it was', async (_what, corrupt, message) => {
    const dir = tmp();
    // The file: another trainer's state after 2 steps (different weights and step count).
    const other = await Trainer.create(tinyConfig());
    await other.run(source(), { steps: 2 });
    const good = path.join(dir, 'other.safetensors');
    await other.save(good);
    const content = await readSafetensors(good);
    const bad = path.join(dir, 'bad.safetensors');
    await writeSafetensors(bad, corrupt(content.tensors), content.metadata);

    const trainer = await Trainer.create(tinyConfig());
    await trainer.run(source(), { steps: 1 });
    const before = await snapshot(trainer, dir);
    const e = await rejection(trainer.load(bad));
    expect(e.code).toBe('ERR_FORMAT');
    expect(e.message).toContain(message);
    expect(trainer.stepsCompleted).toBe(1);
    const after = await snapshot(trainer, dir);
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
    for (const name of Object.keys(before)) expect(after[name].equals(before[name])).toBe(true);
    // The control: the unaltered file does load and changes the state.
    await trainer.load(good);
    expect(trainer.stepsCompleted).toBe(2);
  });

  test('embed refuses a backbone whose tensor has the wrong dtype, as loadBackbone does', async () => {
    const dir = tmp();
    const store = path.join(dir, 'store');
    await writeSyntheticStore(store, { counts: { train: 16, val: 8, test: 8 } });
    const trainer = await Trainer.create(tinyConfig({ imageSize: 8, inChannels: 1 }));
    const exported = path.join(dir, 'backbone.safetensors');
    await trainer.exportBackbone(exported);
    const content = await readSafetensors(exported);
    const mean = content.tensors['bn1.running_mean'];
    const asInt = Int32Array.from(mean.toTypedArray() as Float32Array, (v) => Math.round(v * 1e8));
    const bad = path.join(dir, 'backbone-i32.safetensors');
    await writeSafetensors(bad, { ...content.tensors, 'bn1.running_mean': tensor(asInt, mean.shape) }, content.metadata);

    const e = await rejection(embed({ checkpoint: bad, store, split: 'test', out: path.join(dir, 'f.safetensors'), device: 'cpu' }));
    expect(e.code).toBe('ERR_FORMAT');
    expect(e.message).toContain("tensor 'bn1.running_mean' should be [64] Float but is [64] Int");
    const e2 = await rejection(trainer.loadBackbone(bad));
    expect(e2.code).toBe('ERR_FORMAT');
    // The untouched export embeds.
    await embed({ checkpoint: exported, store, split: 'test', out: path.join(dir, 'ok.safetensors'), device: 'cpu' });
  });
});

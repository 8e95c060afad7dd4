/**
 * The numerics contract (docs/formats.md, "Replay files"): run the steps of a batches file from
 * a full training state and write the per-step losses and the final state. Deterministic on CPU.
 */
import { promises as fs } from 'fs';
import { checkTrainConfig } from '../config/train-config';
import { ImlmError } from '../errors';
import { readSafetensors, disposeAll } from '../safetensors';
import { tensor } from '../tensor';
import { Trainer, fixedBatchesSource, type StepMetrics } from './trainer';

export interface ReplayOptions {
  config: string;
  state: string;
  batches: string;
  out: string;
}

export async function replay(options: ReplayOptions): Promise<StepMetrics[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await fs.readFile(options.config, 'utf8'));
  } catch (e) {
    throw new ImlmError(`cannot read the configuration ${options.config}: ${(e as Error).message}`, 'ERR_IO');
  }
  const config = checkTrainConfig(parsed);
  const trainer = await Trainer.create(config);
  await trainer.load(options.state);
  const batches = await readSafetensors(options.batches);
  const { q, k } = batches.tensors;
  if (!q || !k) {
    disposeAll(batches);
    throw new ImlmError(`${options.batches} must hold tensors 'q' and 'k' (float32 [S, N, C, H, W])`, 'ERR_FORMAT');
  }
  const steps: StepMetrics[] = [];
  try {
    const source = fixedBatchesSource(q, k, trainer.stepsCompleted);
    await trainer.run(source, { steps: q.shape[0], reportEvery: 1, onProgress: (p) => steps.push(p) });
  } finally {
    disposeAll(batches);
  }
  const s = steps.length;
  const extra = {
    loss: tensor(Float32Array.from(steps, (m) => m.loss), [s]),
    loss_infonce: tensor(Float32Array.from(steps, (m) => m.infoNce), [s]),
    loss_blocks: tensor(Float32Array.from(steps.flatMap((m) => m.blocks)), [s, 4]),
    logits_top1: tensor(Float32Array.from(steps, (m) => m.top1), [s]),
  };
  try {
    await trainer.save(options.out, { replay_batches: options.batches, replay_state: options.state }, extra);
  } finally {
    for (const t of Object.values(extra)) t.dispose();
  }
  return steps;
}

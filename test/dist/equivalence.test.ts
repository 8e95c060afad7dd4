// Data-parallel training is the single-process computation split across ranks: the same losses,
// weights and queue, on real processes talking through c10d's Gloo process group.
//
// What is compared, and why it is the right check: with batch norm, W ranks × batch B/W differ
// from one process × batch B only in the BN statistics (each rank normalises its own B/W
// samples). The single-process reference therefore runs with bnGroups W ("ghost" BN over W
// consecutive sub-batches: the same statistics the ranks compute). Everything else — the
// gradient average over ranks, the keys gathered into the queue, the sharded batches, Barlow
// Twins' all-reduced cross-correlation, shuffle-BN's permutation and un-shuffling — must then
// reproduce the reference to float tolerance. BN running statistics are excluded: each rank
// updates its own (rank 0's are saved), the reference updates them once per sub-batch.
import { readSafetensors, type Tensor } from '../../lib';
import { hasGloo, runFixture, type RankOutput } from './helpers';

const describeGloo = hasGloo() ? describe : describe.skip;

type State = Record<string, { dtype: string; data: Float32Array }>;

async function loadState(file: string): Promise<State> {
  const { tensors } = await readSafetensors(file);
  const out: State = {};
  for (const [name, t] of Object.entries(tensors) as Array<[string, Tensor]>) {
    out[name] = { dtype: t.dtype, data: t.toTypedArray() as Float32Array };
    t.dispose();
  }
  return out;
}

const isRunningStat = (name: string) => /running_(mean|var)$|num_batches_tracked$/.test(name);

/** max |a − b| / max(max |b|, 1e-12) over all elements: one relative figure per tensor. */
function relativeDifference(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 1e-12;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

/** The tensors compared: weights of both encoders and projectors, the queue, momentum buffers. */
function comparedNames(state: State): string[] {
  return Object.keys(state).filter((n) => !isRunningStat(n) && state[n].dtype === 'float32');
}

async function expectSameRun(ranks: RankOutput[], reference: RankOutput, tolerance = 1e-5): Promise<void> {
  // Losses: every rank reports the global mean, equal to the one-process batch's loss.
  for (const rank of ranks) {
    expect(rank.metrics).toHaveLength(reference.metrics.length);
    rank.metrics.forEach((m, step) => {
      const r = reference.metrics[step];
      expect(Math.abs(m.loss - r.loss)).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(r.loss)));
      expect(Math.abs(m.infoNce - r.infoNce)).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(r.infoNce)));
      m.blocks.forEach((b, i) => expect(Math.abs(b - r.blocks[i])).toBeLessThanOrEqual(tolerance * Math.max(1e-3, Math.abs(r.blocks[i]))));
    });
  }
  const ref = await loadState(reference.state);
  const states = await Promise.all(ranks.map((r) => loadState(r.state)));
  const names = comparedNames(ref);
  expect(names).toContain('queue');
  expect(names.filter((n) => n.startsWith('encoder_q.')).length).toBeGreaterThan(40);
  for (const name of names) {
    for (const state of states) {
      const rel = relativeDifference(state[name].data, ref[name].data);
      if (rel > tolerance) throw new Error(`${name}: relative difference ${rel} to the one-process run`);
    }
    // The ranks hold bit-identical replicas (same averaged gradients, same gathered keys).
    if (relativeDifference(states[1][name].data, states[0][name].data) !== 0) throw new Error(`${name} differs between the ranks`);
  }
  expect(states[0].queue_ptr.data[0]).toBe(ref.queue_ptr.data[0]);
}

describeGloo('data-parallel equivalence (2 ranks × 8 vs 1 process × 16, Gloo)', () => {
  const steps = 5;

  test('shuffle-BN off: same losses, weights and queue over 5 steps (gradients in several buckets)', async () => {
    const spec = { steps, globalBatch: 16, shuffleBn: false, bucketMb: 0.25 };
    const [reference] = await runFixture({ ...spec, config: { bnGroups: 2 } }, 1);
    const ranks = await runFixture(spec, 2);
    await expectSameRun(ranks, reference);
  }, 180000);

  test('shuffle-BN on: the keys and every block feature are un-shuffled (equal to the one-process emulation)', async () => {
    // One process with shuffleGroups 2 draws the same permutation from the same generator state
    // as rank 0 and runs the key encoder on the same two shuffled halves: with keys or any block
    // feature left shuffled across ranks, InfoNCE or the block MSE terms (weight 1 each) differ.
    const spec = { steps, globalBatch: 16, shuffleBn: true };
    const [reference] = await runFixture({ ...spec, config: { bnGroups: 2, shuffleGroups: 2 } }, 1);
    const ranks = await runFixture(spec, 2);
    await expectSameRun(ranks, reference);
    // And the shuffle did happen: without it the block terms differ.
    const [unshuffled] = await runFixture({ ...spec, config: { bnGroups: 2 } }, 1);
    const blockDiff = Math.max(...unshuffled.metrics[0].blocks.map((b, i) => Math.abs(b - ranks[0].metrics[0].blocks[i]) / Math.abs(b)));
    expect(blockDiff).toBeGreaterThan(1e-3);
  }, 240000);

  test('Barlow Twins: the cross-correlation summed over ranks gives the one-process loss and gradients', async () => {
    // A small learning rate: with lr 0.03 this loss grows ×15 in a step and float rounding is
    // amplified past any tolerance, which would test chaos rather than the reduction.
    const barlow = { optimizer: { lr: 0.002 }, intermediate: { loss: 'barlow', barlow: { projectorDims: [64, 64, 64], weighting: 'original', lambda: 5e-3, scale: 1 } } };
    const spec = { steps, globalBatch: 16, shuffleBn: false };
    const [reference] = await runFixture({ ...spec, config: { ...barlow, bnGroups: 2 } }, 1);
    const ranks = await runFixture({ ...spec, config: barlow }, 2);
    // Barlow Twins sums 64² squared float32 entries of c, which itself is a sum of two halves
    // here and one product in the reference: rounding reaches 1e-5 of the block term.
    await expectSameRun(ranks, reference, 1e-4);
  }, 180000);
});

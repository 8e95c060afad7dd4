// Each loss on tiny tensors whose value can be checked by hand.
import { losses, tensor } from '../../lib';

describe('losses (pure functions in native/core/losses)', () => {
  test('InfoNCE: logits and cross-entropy by hand', async () => {
    // q = k = e1, queue columns e1 and e2, T = 0.5: logits = [1, 1, 0] / 0.5 = [2, 2, 0].
    const q = tensor(new Float32Array([1, 0]), [1, 2]);
    const k = tensor(new Float32Array([1, 0]), [1, 2]);
    const queue = tensor(new Float32Array([1, 0, 0, 1]), [2, 2]);
    const { loss, logits } = await losses.infoNce(q, k, queue, 0.5);
    expect(Array.from(logits.toTypedArray() as Float32Array)).toEqual([2, 2, 0]);
    const expected = -Math.log(Math.exp(2) / (2 * Math.exp(2) + 1));
    expect(loss).toBeCloseTo(expected, 6);
    for (const t of [q, k, queue, logits]) t.dispose();
  });

  test('layer MSE: pooling then weighted mean of squares', async () => {
    // 1×1×2×2 maps; pooled to 1×1 they are the means 2.5 and 0.5: (2.5 − 0.5)² · 0.25 = 1.
    const q = tensor(new Float32Array([1, 2, 3, 4]), [1, 1, 2, 2]);
    const k = tensor(new Float32Array([0, 1, 0, 1]), [1, 1, 2, 2]);
    expect(await losses.layerMse(q, k, 1, 0.25)).toBeCloseTo(1, 6);
    // Without pooling (size 2): mean((1,1,3,3)²) = 5.
    expect(await losses.layerMse(q, k, 2, 1)).toBeCloseTo(5, 6);
    q.dispose();
    k.dispose();
  });

  test('Barlow Twins: on- and off-diagonal terms, both weightings', async () => {
    // N = 2, H = 2: z1 = z2 = [[1, 1], [−1, −1]] ⇒ c = z1ᵀz2 / 2 = [[1, 1], [1, 1]]:
    // on = 0, off = 2 (before scale).
    const z = tensor(new Float32Array([1, 1, -1, -1]), [2, 2]);
    expect(await losses.barlowTwins(z, z, { lambda: 0.5, scale: 1, weighting: 'kaku2021' })).toBeCloseTo(0.5 * 0 + 0.5 * 2, 6);
    expect(await losses.barlowTwins(z, z, { lambda: 0.5, scale: 0.25, weighting: 'original' })).toBeCloseTo(0 + 0.5 * 2 * 0.25, 6);
    // Decorrelated, unit-variance features: c = I ⇒ loss 0.
    const w = tensor(new Float32Array([1, 1, -1, -1, 1, -1, -1, 1]), [4, 2]);
    expect(await losses.barlowTwins(w, w, { lambda: 1, scale: 1 })).toBeCloseTo(0, 6);
    // c = 0 (z2 orthogonal to z1 per feature): on = Σ(0 − 1)² = 2.
    const o = tensor(new Float32Array([1, 1, 1, 1, 1, -1, 1, -1]), [4, 2]);
    expect(await losses.barlowTwins(w, o, { lambda: 1, scale: 1, weighting: 'original' })).toBeCloseTo(2, 6);
    for (const t of [z, w, o]) t.dispose();
  });

  test('wrong shapes are refused with ERR_INVALID_ARG', async () => {
    const flat = tensor(new Float32Array(4), [4]);
    expect(() => losses.infoNce(flat, flat, flat, 0.2)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
    await expect(Promise.resolve().then(() => losses.layerMse(flat, flat, 1))).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    flat.dispose();
  });
});

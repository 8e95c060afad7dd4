// ROC curve points (for the paper report's plots) against scikit-learn's roc_curve.
import { analysis, tensor } from '../../lib';
import { py, random, softmaxRows } from './helpers';

describe('ROC curve', () => {
  test('binary, tied scores: the points of roc_curve(drop_intermediate=False)', async () => {
    const rand = random(5);
    const n = 300;
    const probabilities = softmaxRows(rand, n, 2, 1); // one decimal: many ties
    const labels = BigInt64Array.from({ length: n }, (_, i) => (rand() < probabilities[2 * i + 1] ? 1n : 0n));
    const ours = await analysis.rocCurveOfTensors(tensor(probabilities, [n, 2]), tensor(labels, [n]), 'binary', 10000);
    const ref = py<{ fpr: number[]; tpr: number[] }>(
      `from sklearn.metrics import roc_curve
fpr, tpr, _ = roc_curve(np.array(data['y']), np.array(data['s'], dtype=np.float32).astype(np.float64), drop_intermediate=False)
print(json.dumps({'fpr': fpr.tolist(), 'tpr': tpr.tolist()}))`,
      { y: Array.from(labels, Number), s: Array.from({ length: n }, (_, i) => probabilities[2 * i + 1]) },
    );
    expect(ours.of).toBe('class 1');
    expect(ours.fpr.length).toBe(ref.fpr.length);
    ours.fpr.forEach((v, i) => expect(Math.abs(v - ref.fpr[i])).toBeLessThan(1e-12));
    ours.tpr.forEach((v, i) => expect(Math.abs(v - ref.tpr[i])).toBeLessThan(1e-12));
  });

  test('multiclass: micro-average, thinned to maxPoints with both ends kept', async () => {
    const rand = random(9);
    const n = 500, k = 4;
    const probabilities = softmaxRows(rand, n, k);
    const labels = BigInt64Array.from({ length: n }, () => BigInt(Math.floor(rand() * k)));
    const ours = await analysis.rocCurveOfTensors(tensor(probabilities, [n, k]), tensor(labels, [n]), 'multiclass', 50);
    expect(ours.of).toBe('micro-average');
    expect(ours.fpr).toHaveLength(50);
    expect([ours.fpr[0], ours.tpr[0]]).toEqual([0, 0]);
    expect([ours.fpr[49], ours.tpr[49]]).toEqual([1, 1]);
    for (let i = 1; i < 50; i++) expect(ours.fpr[i]).toBeGreaterThanOrEqual(ours.fpr[i - 1]);
  });

  test('one label value only is refused', async () => {
    await expect(analysis.rocCurveOfTensors(tensor(Float32Array.from([0.2, 0.8, 0.6, 0.4]), [2, 2]), tensor(BigInt64Array.from([1n, 1n]), [2]), 'binary')).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
  });
});

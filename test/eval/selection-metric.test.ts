// The selection metric: exact rank AUC (ties averaged) checked by hand and against
// scikit-learn, macro AUC skipping undefined labels, accuracy.
import { py } from '../analysis/helpers';
import { selectionMetric, tensor } from '../../lib';

const f32 = (values: number[], shape: number[]) => tensor(Float32Array.from(values), shape);
const i64 = (values: number[]) => tensor(BigInt64Array.from(values.map(BigInt)), [values.length]);
const u8 = (values: number[], shape: number[]) => tensor(Uint8Array.from(values), shape);

/** A deterministic pseudo-random stream in [0, 1). */
function stream(seed: number) {
  let x = seed;
  return () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
}

describe('selectionMetric', () => {
  test('binary AUC by hand, with a tie counted as one half', async () => {
    // Positives 0.8, 0.4; negatives 0.4, 0.1: pairs (0.8>0.4, 0.8>0.1, 0.4=0.4 → ½, 0.4>0.1) = 3.5/4.
    const p = f32([0.2, 0.8, 0.6, 0.4, 0.6, 0.4, 0.9, 0.1], [4, 2]);
    expect(await selectionMetric(p, i64([1, 1, 0, 0]), 'binary', 'auc')).toBeCloseTo(0.875, 12);
    expect(await selectionMetric(p, i64([1, 1, 0, 0]), 'binary', 'accuracy')).toBeCloseTo(0.75, 12); // rows 1, 3, 4 hit
  });

  test('macro AUC leaves out labels with one class present; NaN when none is defined', async () => {
    const p = f32([0.9, 0.5, 0.1, 0.5, 0.2, 0.5, 0.8, 0.5], [4, 2]);
    // Label 0: positives {0.9, 0.8} above negatives {0.1, 0.2} → 1; label 1: all positive → left out.
    expect(await selectionMetric(p, u8([1, 1, 0, 1, 0, 1, 1, 1], [4, 2]), 'multilabel', 'auc')).toBe(1);
    expect(await selectionMetric(p, u8([1, 1, 1, 1, 1, 1, 1, 1], [4, 2]), 'multilabel', 'auc')).toBeNaN();
    await expect(selectionMetric(p, u8([1, 1, 0, 1, 0, 1, 1, 1], [4, 2]), 'multilabel', 'accuracy')).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
  });

  test('multiclass accuracy is the share of arg-max hits', async () => {
    const p = f32([0.7, 0.2, 0.1, 0.1, 0.1, 0.8, 0.3, 0.4, 0.3], [3, 3]);
    expect(await selectionMetric(p, i64([0, 2, 0]), 'multiclass', 'accuracy')).toBeCloseTo(2 / 3, 12);
    await expect(selectionMetric(p, i64([0, 2, 0]), 'multiclass', 'auc')).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
  });

  // No skip without scikit-learn: py() fails saying what to install (npm test's pretest installs it).
  test('macro AUC equals scikit-learn on random scores with many ties', async () => {
    const n = 300;
    const labels = 4;
    const next = stream(11);
    // Scores rounded to 1 decimal: many ties.
    const scores = Array.from({ length: n * labels }, () => Math.round(next() * 10) / 10);
    const truth = scores.map((s) => (next() < 0.3 + 0.4 * s ? 1 : 0));
    const ours = await selectionMetric(f32(scores, [n, labels]), u8(truth, [n, labels]), 'multilabel', 'auc');
    const reference = py<number>(
      'from sklearn.metrics import roc_auc_score\n' +
      's = np.array(data["s"]).reshape(-1, data["L"]); y = np.array(data["y"]).reshape(-1, data["L"])\n' +
      'print(json.dumps(float(np.mean([roc_auc_score(y[:, j], s[:, j]) for j in range(data["L"])]))))',
      { s: scores.map((v) => Math.fround(v)), y: truth, L: labels },
    );
    expect(ours).toBeCloseTo(reference, 12);
  });
});

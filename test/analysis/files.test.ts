// Reading and pairing the analysis inputs: ids alignment, repeated ids, format errors, and no
// tensors left behind by the file-level functions.
import path from 'path';
import { analysis, tensor } from '../../lib';
import { settledLiveTensorCount } from '../helpers/live-tensors';
import { random, softmaxRows, tempDir, writeFeatures, writePredictions } from './helpers';

describe('analysis files', () => {
  const dir = tempDir();

  test('alignRows reorders the second tensor\'s rows to the first file\'s ids', async () => {
    const idsA = tensor(BigInt64Array.from([5n, 9n, 2n]), [3]);
    const idsB = tensor(BigInt64Array.from([2n, 5n, 9n]), [3]);
    const values = tensor(Float32Array.from([20, 21, 50, 51, 90, 91]), [3, 2]);
    const [aligned] = await analysis.alignRows(idsA, idsB, [values]);
    expect(Array.from(aligned.toTypedArray() as Float32Array)).toEqual([50, 51, 90, 91, 20, 21]);
    [idsA, idsB, values, aligned].forEach((t) => t.dispose());
  });

  test('a repeated id is refused, naming it and its rows', async () => {
    const idsA = tensor(BigInt64Array.from([1n, 2n, 3n]), [3]);
    const idsB = tensor(BigInt64Array.from([1n, 2n, 2n]), [3]);
    await expect(analysis.alignRows(idsA, idsB, [])).rejects.toMatchObject({ code: 'ERR_INVALID_ARG', message: expect.stringMatching(/sample id 2 more than once \(rows 1 and 2\)/) });
    [idsA, idsB].forEach((t) => t.dispose());
  });

  test('a features file without any block, or a predictions file with a wrong labels shape: ERR_FORMAT', async () => {
    const f = path.join(dir, 'empty-features.safetensors');
    await writeFeatures(f, [1, 2], {});
    await expect(analysis.readFeatures(f)).rejects.toMatchObject({ code: 'ERR_FORMAT', message: expect.stringMatching(/holds none of block1/) });
    const p = path.join(dir, 'bad-labels.safetensors');
    await writePredictions(p, { ids: [1, 2], probabilities: Float32Array.from([0.2, 0.8, 0.6, 0.4]), classes: ['a', 'b'], task: 'multilabel', labels: new BigInt64Array(2) as never });
    await expect(analysis.readPredictions(p)).rejects.toMatchObject({ code: 'ERR_FORMAT', message: expect.stringMatching(/multilabel task expects 'labels' uint8 \[2, 2\]/) });
  });

  test('metrics, ks and cka on files leave no tensor alive', async () => {
    const rand = random(3);
    const ids = Array.from({ length: 60 }, (_, i) => i);
    const labels = BigInt64Array.from(ids, (i) => BigInt(i % 3));
    const a = path.join(dir, 'pa.safetensors');
    const b = path.join(dir, 'pb.safetensors');
    await writePredictions(a, { ids, probabilities: softmaxRows(rand, 60, 3), classes: ['x', 'y', 'z'], task: 'multiclass', labels });
    await writePredictions(b, { ids: ids.slice().reverse(), probabilities: softmaxRows(rand, 60, 3), classes: ['x', 'y', 'z'], task: 'multiclass', labels });
    const fa = path.join(dir, 'fa.safetensors');
    const fb = path.join(dir, 'fb.safetensors');
    const block = () => ({ values: Float32Array.from({ length: 60 * 4 }, () => rand()), columns: 4 });
    await writeFeatures(fa, ids, { block1: block(), block3: block() });
    await writeFeatures(fb, ids.slice().reverse(), { block1: block(), block3: block() });
    const before = await settledLiveTensorCount();
    await analysis.metrics(a, { resamples: 10 });
    await analysis.metrics(a, { resamples: 0, labels: b });
    await analysis.ks(a, b);
    await analysis.cka(fa, fb, { sets: 2, setSize: 30 });
    await expect(analysis.cka(fa, fb, { sets: 2, setSize: 61 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    expect(await settledLiveTensorCount()).toBe(before);
  });
});

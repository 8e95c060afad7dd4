// `imlm-native analyze metrics|ks|cka` as real processes: --json prints exactly one JSON object.
import path from 'path';
import { runCli } from '../helpers/run';
import { normal, random, softmaxRows, tempDir, writeFeatures, writePredictions } from './helpers';

describe('imlm-native analyze', () => {
  const dir = tempDir();
  const n = 80;
  const ids = Array.from({ length: n }, (_, i) => i);
  const predictionsA = path.join(dir, 'a.safetensors');
  const predictionsB = path.join(dir, 'b.safetensors');
  const featuresA = path.join(dir, 'fa.safetensors');
  const featuresB = path.join(dir, 'fb.safetensors');

  beforeAll(async () => {
    const rand = random(1);
    const pa = softmaxRows(rand, n, 2);
    const labels = BigInt64Array.from({ length: n }, (_, i) => BigInt(rand() < pa[i * 2 + 1] ? 1 : 0));
    await writePredictions(predictionsA, { ids, probabilities: pa, classes: ['benign', 'malignant'], task: 'binary', labels });
    await writePredictions(predictionsB, { ids, probabilities: softmaxRows(rand, n, 2), classes: ['benign', 'malignant'], task: 'binary', labels });
    const block = (d: number) => ({ values: Float32Array.from({ length: n * d }, () => normal(rand)), columns: d });
    await writeFeatures(featuresA, ids, { block1: block(4), block2: block(6) });
    await writeFeatures(featuresB, ids, { block1: block(4), block2: block(6) });
  });

  test('metrics --json: one object with auc_macro, auc_per_class, f1, accuracy, their intervals and excluded_classes', async () => {
    const r = await runCli(['analyze', 'metrics', predictionsA, '--resamples', '100', '--seed', '7', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(out.task).toBe('binary');
    expect(out.bootstrap).toEqual({ resamples: 100, seed: 7, confidence: 0.95, method: 'percentile' });
    for (const key of ['auc_macro', 'f1', 'accuracy', 'f1_positive']) {
      expect(typeof out[key].value).toBe('number');
      expect(out[key].ci.low).toBeLessThanOrEqual(out[key].value);
      expect(out[key].ci.high).toBeGreaterThanOrEqual(out[key].value);
      expect(out[key].paper_interval).toEqual(expect.objectContaining({ mean: expect.any(Number), low: expect.any(Number), high: expect.any(Number) }));
    }
    expect(out.auc_per_class).toEqual([expect.objectContaining({ class_index: 1, class: 'malignant', included: true, value: out.auc_macro.value })]);
    expect(out.excluded_classes).toEqual([]);
  });

  test('metrics without --json: a table', async () => {
    const r = await runCli(['analyze', 'metrics', predictionsA, '--resamples', '20']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/AUC \(macro\)\s+0\.\d{4}\s+0\.\d{4}–0\.\d{4}/);
    expect(r.stdout).toMatch(/F1 \(macro\)/);
  });

  test('ks --json: statistic and pvalue', async () => {
    const r = await runCli(['analyze', 'ks', predictionsA, predictionsB, '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.statistic).toBeGreaterThan(0);
    expect(out.pvalue).toBeGreaterThan(0);
    expect(out.pvalue).toBeLessThanOrEqual(1);
    expect(out.per_class).toEqual([expect.objectContaining({ class: 'malignant', statistic: out.statistic, pvalue: out.pvalue, effective_n: 40 })]);
  });

  test('cka --json: per block, and the pair\'s numbers at the top for one block', async () => {
    const all = await runCli(['analyze', 'cka', featuresA, featuresB, '--kernel', 'rbf', '--sets', '4', '--set-size', '30', '--seed', '2', '--json']);
    expect(all.code).toBe(0);
    const out = JSON.parse(all.stdout);
    expect(out.results.map((e: { block: number }) => e.block)).toEqual([1, 2]);
    for (const e of out.results) {
      expect(typeof e.cka).toBe('number');
      expect(e.bootstrap).toEqual(expect.objectContaining({ sets: 4, set_size: 30, seed: 2, mean: expect.any(Number), std: expect.any(Number) }));
    }
    const one = await runCli(['analyze', 'cka', featuresA, featuresB, '--block', '2', '--sets', '3', '--set-size', '30', '--json']);
    const single = JSON.parse(one.stdout);
    expect(single.kernel).toBe('rbf'); // the one default of analyze cka, eval cka and paper (kCkaDefaults)
    expect(single.results).toHaveLength(1);
    expect(typeof single.cka).toBe('number');
    expect(typeof single.mean).toBe('number');
    expect(typeof single.std).toBe('number');
  });

  test('errors: exit 1 with the code on stderr (fewer samples than a set; bad number)', async () => {
    const r = await runCli(['analyze', 'cka', featuresA, featuresB, '--json']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/ERR_INVALID_ARG: there are fewer samples \(80\) than one bootstrap set \(1000/);
    const bad = await runCli(['analyze', 'metrics', predictionsA, '--resamples', 'many']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/ERR_INVALID_ARG: Expected an integer for --resamples but received 'many'/);
  });
});

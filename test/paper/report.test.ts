// The paper report (lib/paper): the claims as paired differences, tables laid out like the
// paper's with its numbers beside ours (one seed: bootstrap intervals; several: mean ± std and
// each seed), the time per stage, and plots rendered to SVG and PNG.
import { existsSync, mkdtempSync, readFileSync } from 'fs';
import os from 'os';
import path from 'path';
import sharp from 'sharp';
import { renderPlots } from '../../lib/paper/plots';
import { renderReport } from '../../lib/paper/report';
import { emptyResults, type PaperResults } from '../../lib/paper/results';

function results(sourceFormat: string): PaperResults {
  const all = emptyResults({
    store: '/data/store', sourceFormat, task: 'binary', classes: ['benign', 'idc'], metric: { key: 'f1', label: 'F1' },
    methods: ['moco', 'mse', 'supervised'], fractions: [0.01, 1], settings: { arch: 'resnet18', pretrainSteps: 100 }, budget: 'small', seeds: [0],
  });
  const r = all.runs[0];
  r.pretrain.mse = { checkpoint: 'mse/backbone.safetensors', steps: 3, seconds: 9, loss: [{ step: 1, loss: 9.1 }, { step: 2, loss: 8.7 }, { step: 3, loss: 8.2 }] };
  r.pretrain.moco = { checkpoint: 'moco/backbone.safetensors', steps: 3, seconds: 8, loss: [{ step: 1, loss: 9.0 }, { step: 2, loss: 8.9 }, { step: 3, loss: 8.5 }] };
  r.linear.moco = { '1': { value: 0.7512, ci: [0.74, 0.7601] }, '0.01': { value: 0.61 } };
  r.linear.mse = { '1': { value: 0.8 }, '0.01': { value: 0.65 } };
  r.finetune.mse = { '0.01': { value: 0.812, ci: [0.8, 0.82] }, '1': { value: 0.9 } };
  r.finetune.supervised = { '0.01': { value: 0.61 }, '1': { value: 0.88 } };
  r.probe.mse = [{ value: 0.6 }, { value: 0.65 }, { value: 0.7 }, { value: 0.8 }];
  r.cka.mse = { fraction: 0.01, kernel: 'rbf σ 0.8', blocks: [{ mean: 0.91, std: 0.01 }, { mean: 0.8, std: 0.02 }, { mean: 0.5, std: 0.03 }, { mean: 0.3, std: 0.02 }] };
  r.ks.mse = { '0.01': { statistic: 0.0812, pvalue: 1.2e-5 } };
  r.roc.mse = { '0.01': { fpr: [0, 0.2, 1], tpr: [0, 0.7, 1], of: 'idc' } };
  all.timings['seed-0/pretrain/mse'] = 9;
  all.timings['seed-0/finetune/mse/1'] = 120;
  all.timings.compare = 2;
  all.estimate = { seconds: 150, pretrainSecondsPerStep: 0.8, finetuneSecondsPerStep: 0.3, finetuneFixedSeconds: 5, basis: 'timed just now' };
  all.paired = [
    { evaluation: 'linear', a: 'mse', b: 'moco', fraction: 0.01, headline: { difference: 0.021, ci: [0.008, 0.034], shown: true, perSeed: [0.021] }, accuracy: { difference: 0.01, ci: [-0.01, 0.03], shown: false, perSeed: [0.01] }, resamples: 1000 },
    { evaluation: 'finetune', a: 'mse', b: 'supervised', fraction: 1, headline: { difference: -0.004, ci: [-0.02, 0.012], shown: false, perSeed: [-0.004] }, accuracy: null, resamples: 1000 },
  ];
  all.pairedSeeds = [0];
  return all;
}

/** Two seeds: the second's values a little apart from the first's. */
function twoSeeds(): PaperResults {
  const r = results('idx');
  const second = structuredClone(r.runs[0]);
  second.seed = 1;
  second.finetune.mse!['0.01'] = { value: 0.832 };
  second.linear.moco!['1'] = { value: 0.7712 };
  r.seeds = [0, 1];
  r.runs.push(second);
  r.pairedSeeds = [0, 1];
  return r;
}

describe('paper report', () => {
  test("a paper data set: ours beside the paper's column for it, labelled as the paper's", () => {
    const md = renderReport(results('bch-idc'));
    expect(md).toContain("the paper's numbers for Breast Cancer Histopathology");
    expect(md).toMatch(/\| MoCo \| 75\.1 \(74\.0–76\.0\) \| 80\.7 \(80\.4–81\.1\) \|/);
    expect(md).toMatch(/\| 1% \| 61\.0 \| 65\.0 \|/); // linear probes below 100% of the labels
    expect(md).toMatch(/\| MoCo \+ MSE \| 80\.0 \| 82\.5 \(82\.2–82\.9\) \|/);
    // Fine-tuning: ours at 1%, then the paper's BCH row at 1% (Supervised 80.6, MoCo 82.8, MSE 85.1).
    expect(md).toMatch(/\| 1% — ours \| — \| 81\.2 \(80\.0–82\.0\) \| 61\.0 \|/);
    expect(md).toMatch(/\| 1% — paper, BCH \| 82\.8 \| 85\.1 \| 80\.6 \|/);
    expect(md).toContain('| MoCo + MSE — ours (rbf σ 0.8) | 0.91 ± 0.01 | 0.80 ± 0.02 | 0.50 ± 0.03 | 0.30 ± 0.02 | 81.2 (80.0–82.0) |');
    expect(md).toContain('| MoCo + MSE — paper, BCH (RBF, 1%) | 0.77 | 0.82 | 0.58 | 0.42 | 85.1 |');
    expect(md).toMatch(/\| MoCo \+ MSE \| 0\.081 \(p 1\.2e-5\) \| 0\.036 \/ 0\.082 \|/);
    expect(md).not.toContain('paper, NIH');
    expect(md).not.toMatch(/NaN|undefined/);
  });

  test('the claims as paired differences, shown or not; the estimate and the wall clock per stage', () => {
    const md = renderReport(results('bch-idc'));
    expect(md).toContain('MoCo + MSE − MoCo at 1%, linear probe: +2.1 points of F1 [0.8, 3.4] — shown');
    expect(md).toContain('MoCo + MSE − Supervised at 100%, fine-tuning: −0.4 points of F1 [-2.0, 1.2] — not shown (the interval covers 0)');
    expect(md).toContain('+1.0 [-1.0, 3.0]');
    expect(md).toContain('Estimated before starting: 2.5 min');
    expect(md).toContain('| pretrain | 1 | 9 s |');
    expect(md).toContain('| finetune | 1 | 2.0 min |');
    expect(md).toContain('budget small');
  });

  test('several seeds: mean ± standard deviation with each seed, and the seed count in the claims', () => {
    const md = renderReport(twoSeeds());
    expect(md).toContain('2 seeds (0, 1)');
    expect(md).toMatch(/\| 1% — ours \| — \| 82\.2 ± 1\.4 \(81\.2, 83\.2\) \|/);
    expect(md).toMatch(/\| MoCo \| 76\.1 ± 1\.4 \(75\.1, 77\.1\) \|/);
    expect(md).toContain('the mean over the 2 seeds');
    expect(md).not.toMatch(/NaN|undefined/);
  });

  test("another data set: the paper's three data sets for orientation", () => {
    const md = renderReport(results('idx'));
    expect(md).toContain('not one of the paper');
    for (const d of ['NIH', 'DR', 'BCH']) expect(md).toContain(`paper, ${d}`);
  });

  test('plots: CKA bars, probe curves, ROC and loss curves as SVG and PNG', async () => {
    const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'imlm-paper-')), 'plots');
    const plots = await renderPlots(results('idx'), dir);
    expect(Object.keys(plots).sort()).toEqual(['cka', 'loss', 'paired', 'probe', 'roc']);
    expect(plots.cka).toBe(path.join('plots', 'cka.png'));
    for (const kind of Object.keys(plots)) {
      const svg = readFileSync(path.join(dir, `${kind}.svg`), 'utf8');
      expect(svg).toMatch(/^<svg/);
      expect(existsSync(path.join(dir, `${kind}.png`))).toBe(true);
      const meta = await sharp(path.join(dir, `${kind}.png`)).metadata();
      expect(meta.width).toBeGreaterThan(300);
    }
    expect(readFileSync(path.join(dir, 'cka.svg'), 'utf8')).toContain('MoCo + MSE');
    const md = renderReport(results('idx'), plots);
    expect(md).toContain('![cka](plots/cka.png)');
  });
});

// `paper` end to end on a tiny store: every cell runs, results.json and report.md are written,
// an interrupted run resumes with its finished cells kept, and the CLI prints one JSON object.
import { existsSync, mkdtempSync, readFileSync } from 'fs';
import os from 'os';
import path from 'path';
import { writeStore } from '../../lib/data/store';
import { runPaper, type PaperEvent } from '../../lib/paper/run-paper';
import { writeSubsetStore } from '../../lib/paper/subset-store';
import { readManifest } from '../../lib/data/store';
import { labelFractions } from '../../lib/data/splits';
import { runCli } from '../helpers/run';
import type { TrainConfigOverrides } from '../../lib';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'imlm-paper-run-'));

/** 3 classes of 1×16×16 images told apart by brightness and a stripe, so every cell can learn something. */
async function tinyStore(): Promise<string> {
  const dir = path.join(tmp(), 'store');
  const make = (n: number, offset: number) => {
    const images = new Uint8Array(n * 256);
    const labels = new BigInt64Array(n);
    const ids = new BigInt64Array(n);
    for (let i = 0; i < n; i++) {
      const c = (i + offset) % 3;
      labels[i] = BigInt(c);
      ids[i] = BigInt(offset * 1000 + i);
      for (let p = 0; p < 256; p++) images[i * 256 + p] = Math.min(255, 40 + 70 * c + ((p % 16) === (4 * c + 2) ? 60 : 0) + ((i * 31 + p * 7) % 23));
    }
    return { images, labels, ids };
  };
  const train = make(60, 0);
  const chosen = labelFractions(Array.from(train.labels, Number), [0.1, 1], 0);
  await writeStore(dir, {
    manifest: {
      sourceFormat: 'test', source: dir, task: 'multiclass', classes: ['dark', 'mid', 'light'], channels: 1, imageSize: [16, 16],
      splitMethod: 'fixture', seed: 0, preparation: {}, skipped: [],
      labelFractions: { seed: 0, stratifiedBy: 'label', nested: true, fractions: { '0.1': { count: chosen.get(0.1)!.length, ids: chosen.get(0.1)!.map((r) => Number(train.ids[r])) }, '1': { count: 60 } } },
    },
    splits: { train, val: make(30, 1), test: make(30, 2) },
  });
  return dir;
}

const kTiny = {
  methods: ['moco', 'mse', 'supervised'] as const,
  preset: 'kaku2021',
  pretrainOverrides: {
    arch: 'resnet18', stem: 'standard', imageSize: 16, batchSize: 8, queueSize: 64, embeddingDim: 32,
    intermediate: { mse: { poolSizes: [2, 2, 1, 1], weights: [0.25, 0.25, 0.25, 0.25] } },
  } as TrainConfigOverrides,
  pretrainSteps: 3,
  finetuneSteps: 4,
  evalEvery: 2,
  finetuneBatchSize: 8,
  probeIterations: 5,
  cka: { kernel: 'linear' as const, sets: 2, setSize: 20 },
  resamples: 20,
  device: 'cpu',
};

describe('paper', () => {
  test('every cell of two seeds, paired comparisons pooled over them, then a resumed run that keeps what was finished', async () => {
    const store = await tinyStore();
    const out = path.join(tmp(), 'run');
    const controller = new AbortController();
    const events: PaperEvent[] = [];
    const options = { ...kTiny, methods: [...kTiny.methods], store, outDir: out, seeds: 2 };
    // Interrupt after the first finished cell.
    await expect(
      runPaper({ ...options, signal: controller.signal, onEvent: (e) => { events.push(e); if (e.kind === 'cell-done') controller.abort(); } }),
    ).rejects.toMatchObject({ code: 'ERR_CANCELLED' });
    const estimate = events.find((e) => e.kind === 'estimate');
    expect(estimate).toMatchObject({ estimate: { seconds: expect.any(Number), basis: expect.stringContaining('2 seed(s)') } });
    const first = events.find((e) => e.kind === 'cell-done')!;
    expect(first).toMatchObject({ cell: 'seed-0/pretrain/moco' });
    expect(JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')).runs[0].pretrain.moco.steps).toBe(3);

    // Other settings in the same folder are refused, naming the difference.
    await expect(runPaper({ ...options, pretrainSteps: 4 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG', message: expect.stringContaining('pretrainSteps') });

    const again: PaperEvent[] = [];
    const { results, report } = await runPaper({ ...options, onEvent: (e) => again.push(e) });
    expect(again.filter((e) => e.kind === 'cell-skipped').map((e) => (e as { cell: string }).cell)).toEqual(['seed-0/pretrain/moco']);
    expect(again.some((e) => e.kind === 'estimate')).toBe(false); // estimated once, kept in results.json
    expect(results.seeds).toEqual([0, 1]);
    for (const run of results.runs) {
      expect(Object.keys(run.pretrain).sort()).toEqual(['moco', 'mse']);
      for (const m of ['moco', 'mse', 'supervised'] as const) {
        for (const f of ['0.1', '1']) {
          const cell = run.finetune[m]![f];
          expect(cell.value).toBeGreaterThanOrEqual(0);
          expect(cell.value).toBeLessThanOrEqual(1);
          expect(cell.ci![0]).toBeLessThanOrEqual(cell.ci![1]);
        }
        expect(run.ks[m]!['0.1'].statistic).toBeGreaterThanOrEqual(0);
        expect(run.roc[m]!['1'].fpr.at(-1)).toBe(1);
      }
      expect(run.probe.mse).toHaveLength(4);
      expect(run.linear.mse!['1'].value).toBe(run.probe.mse![3].value);
      expect(run.linear.mse!['0.1'].value).toBeGreaterThan(0);
      expect(run.cka.mse!.blocks).toHaveLength(4);
      for (const b of run.cka.mse!.blocks) expect(b.mean).toBeGreaterThan(0);
    }
    // The second seed draws its own label fraction; the first uses the store's recorded one.
    const config = (seed: number) => JSON.parse(readFileSync(path.join(out, `seed-${seed}`, 'finetune', 'mse', '0.1', 'config.json'), 'utf8'));
    expect(config(0).fractionSeed).toBeUndefined();
    expect(config(1).fractionSeed).toBe(1);
    // Paired comparisons: linear (MSE − MoCo) and fine-tuning (MSE − MoCo, MSE and MoCo − scratch) at each fraction.
    expect(results.pairedSeeds).toEqual([0, 1]);
    expect(results.paired.map((p) => `${p.evaluation} ${p.a}-${p.b} ${p.fraction}`).sort()).toEqual(
      ['linear mse-moco 0.1', 'linear mse-moco 1', 'finetune mse-moco 0.1', 'finetune mse-moco 1', 'finetune mse-supervised 0.1', 'finetune mse-supervised 1', 'finetune moco-supervised 0.1', 'finetune moco-supervised 1'].sort(),
    );
    for (const p of results.paired) {
      expect(p.headline.perSeed).toHaveLength(2);
      expect(p.headline.difference).toBeCloseTo((p.headline.perSeed[0] + p.headline.perSeed[1]) / 2, 12);
      expect(p.headline.ci![0]).toBeLessThanOrEqual(p.headline.ci![1]);
    }
    const mseMoco = results.paired.find((p) => p.evaluation === 'finetune' && p.a === 'mse' && p.b === 'moco' && p.fraction === 0.1)!;
    expect(mseMoco.headline.perSeed[0]).toBeCloseTo(results.runs[0].finetune.mse!['0.1'].value - results.runs[0].finetune.moco!['0.1'].value, 12);
    expect(readFileSync(path.join(out, 'report.md'), 'utf8')).toBe(report);
    expect(report).toContain('not one of the paper');
    expect(report).toContain("## The paper's claims, tested");
    expect(report).toMatch(/MoCo \+ MSE − MoCo at 10%, fine-tuning: [+−]\d+\.\d points of AUC \(macro, one-vs-rest\) \[-?\d+\.\d, -?\d+\.\d\] — (shown|not shown)/);
    expect(report).toMatch(/\d+\.\d ± \d+\.\d \(\d+\.\d, \d+\.\d\)/);
    expect(report).toContain('Estimated before starting');
    for (const kind of ['paired', 'cka', 'probe', 'roc', 'loss']) expect(existsSync(path.join(out, 'plots', `${kind}.svg`))).toBe(true);
    expect(report).not.toMatch(/NaN|undefined/);

    // `eval ks` and `eval cka` (the same comparisons as commands) agree with the cells.
    const seed0 = path.join(out, 'seed-0');
    const ksCli = await runCli(['eval', 'ks', path.join(seed0, 'finetune', 'mse', '0.1'), path.join(seed0, 'finetune', 'mse', '1'), '--json']);
    expect(ksCli.stderr).toBe('');
    expect(JSON.parse(ksCli.stdout).statistic).toBeCloseTo(results.runs[0].ks.mse!['0.1'].statistic, 12);
    const ckaCli = await runCli([
      'eval', 'cka', '--before', results.runs[0].pretrain.mse!.checkpoint, '--after', path.join(seed0, 'finetune', 'mse', '0.1', 'checkpoints', 'best.safetensors'),
      '--data', store, '--kernel', 'linear', '--sets', '2', '--set-size', '20', '--out', path.join(out, 'eval-cka'), '--json',
    ]);
    expect(ckaCli.stderr).toBe('');
    expect(ckaCli.code).toBe(0);
    const blocks = JSON.parse(ckaCli.stdout).results as Array<{ bootstrap: { mean: number } }>;
    blocks.forEach((b, i) => expect(b.bootstrap.mean).toBeCloseTo(results.runs[0].cka.mse!.blocks[i].mean, 6));
    // `analyze compare` on the cells' predictions gives the pooled comparison.
    const files = (m: string) => [0, 1].map((s) => results.runs[s].finetune[m as 'mse']!['0.1'].predictions).join(',');
    const cmp = await runCli(['analyze', 'compare', files('mse'), files('moco'), '--resamples', String(kTiny.resamples), '--json']);
    expect(JSON.parse(cmp.stdout).auc_macro.ci).toMatchObject({ low: mseMoco.headline.ci![0], high: mseMoco.headline.ci![1] });
  }, 600000);

  test('a subset store keeps ids, is stratified, and records new nested fractions', async () => {
    const store = await tinyStore();
    const out = path.join(tmp(), 'subset');
    const m = await writeSubsetStore(store, out, { train: 30, test: 15 }, { seed: 1, fractions: [0.2, 1] });
    expect(m.splits.train!.count).toBe(30);
    expect(m.splits.val!.count).toBe(30);
    expect(m.splits.test!.count).toBe(15);
    expect(m.labelFractions!.fractions['0.2'].count).toBe(6);
    expect((await readManifest(out)).preparation).toMatchObject({ subsetOf: store });
  });

  test('CLI: bad arguments are refused before any work', async () => {
    const r = await runCli(['paper', '--data', await tinyStore(), '--methods', 'simclr']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Expected methods among moco, mse, barlow, supervised but received 'simclr'/);
    const out = path.join(tmp(), 'x');
    const f = await runCli(['paper', '--data', await tinyStore(), '--fractions', '0.5,1', '--out', out]);
    expect(f.code).not.toBe(0);
    expect(f.stderr).toMatch(/records label fractions 0\.1, 1; 0\.5 is not one of them/);
    expect(existsSync(out)).toBe(false);
  });
});

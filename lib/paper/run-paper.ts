/**
 * `imlm-native paper`: the paper's whole protocol on one data set (docs/evaluation-protocol.md; the paper's numbers in docs/method.md) —
 * pre-train each self-supervised method (or take given checkpoints), linear-probe it, fine-tune
 * every method at every label fraction (from scratch for the supervised baseline), probe each
 * block, compare features before and after fine-tuning at the smallest fraction (CKA), and
 * compare each fraction's output distribution with the 100% model's (KS) — then write
 * report.md, results.json and the plots.
 *
 * Every finished cell is recorded in results.json (atomically) before the next starts, and every
 * cell's own run folder resumes, so an interrupted run continues where it stopped.
 */
import { existsSync, promises as fs } from 'fs';
import path from 'path';
import { kMetricsDefaults, metrics as analyzeMetrics } from '../analysis/metrics';
import { ks as analyzeKs } from '../analysis/ks';
import { cka as analyzeCka, kCkaDefaults } from '../analysis/cka';
import { rocCurve } from '../analysis/roc';
import { writeFileAtomic } from '../atomic-write';
import { kRunDefaults, type TrainConfigOverrides } from '../config/train-config';
import { ImlmError } from '../errors';
import { info } from '../info';
import { embed, finetune, finetunePaths, layerwiseProbe } from '../eval';
import { readManifest, type Manifest } from '../data/store';
import { hasCheckpoint, readRunJson, writeRunJson } from '../run-folder';
import { pretrain, runPaths } from '../train/pretrain';
import { createTrainSource, resolveRunConfig, type DataChoice } from '../train/train-run';
import type { PaperMethod } from './paper-numbers';
import { renderPlots } from './plots';
import { renderReport } from './report';
import { emptyResults, fractionKey, type MetricWithCi, type PaperResults } from './results';

export interface PaperOptions {
  store: string;
  outDir: string;
  methods?: PaperMethod[];
  /** Label fractions (default: the store's recorded ones); must include 1 for KS. */
  fractions?: number[];
  /** Pre-trained checkpoints to use instead of pre-training (per SSL method). */
  checkpoints?: Partial<Record<PaperMethod, string>>;
  /** Pre-training: preset and overrides (arch, stem, batchSize, …) and steps. */
  preset?: string;
  pretrainOverrides?: TrainConfigOverrides;
  pretrainSteps?: number;
  augment?: string;
  /** Fine-tuning budget in steps (default: the paper's 100 epochs) and its validation cadence. */
  finetuneSteps?: number;
  evalEvery?: number;
  patience?: number;
  finetuneBatchSize?: number;
  /** Linear / layer-wise probes: L-BFGS iterations. */
  probeIterations?: number;
  /** CKA: kernel and σ (RBF: absolute, or a fraction of the median distance), bootstrap sets. */
  cka?: { kernel?: 'linear' | 'rbf'; sigma?: number; sigmaMedianFraction?: number; sets?: number; setSize?: number };
  /** Bootstrap resamples of the test metrics (default 1000). */
  resamples?: number;
  seed?: number;
  device?: string;
  onEvent?: (e: PaperEvent) => void;
  signal?: AbortSignal;
}

export type PaperEvent =
  | { kind: 'cell-start'; cell: string; index: number; total: number }
  | { kind: 'cell-done'; cell: string; seconds: number; summary: string }
  | { kind: 'cell-skipped'; cell: string }
  | { kind: 'progress'; cell: string; done: number; total: number; detail: string };

export interface PaperRunResult {
  results: PaperResults;
  report: string;
  resultsFile: string;
  plots: Record<string, string>;
}

const kSslLoss: Record<Exclude<PaperMethod, 'supervised'>, 'none' | 'mse' | 'barlow'> = { moco: 'none', mse: 'mse', barlow: 'barlow' };

function headlineMetric(manifest: Manifest): { key: 'auc_macro' | 'f1' | 'accuracy'; label: string } {
  if (manifest.sourceFormat === 'bch-idc') return { key: 'f1', label: 'F1' };
  if (manifest.task === 'multilabel' || manifest.task === 'binary') return { key: 'auc_macro', label: 'AUC' };
  return { key: 'auc_macro', label: 'AUC (macro, one-vs-rest)' };
}

export async function runPaper(o: PaperOptions): Promise<PaperRunResult> {
  const manifest = await readManifest(o.store);
  if (manifest.task === 'none') throw new ImlmError(`${o.store} has no labels (task 'none'); the paper's protocol needs a labelled store`, 'ERR_INVALID_ARG');
  const methods = o.methods ?? ['moco', 'mse', 'barlow', 'supervised'];
  const recorded = Object.keys(manifest.labelFractions?.fractions ?? {}).map(Number).sort((a, b) => a - b);
  const fractions = [...(o.fractions ?? recorded)].sort((a, b) => a - b);
  for (const f of fractions) {
    if (!recorded.includes(f)) {
      throw new ImlmError(`${o.store} records label fractions ${recorded.join(', ') || '(none)'}; ${f} is not one of them (prepare the store with --fractions)`, 'ERR_INVALID_ARG');
    }
  }
  if (!fractions.includes(1)) throw new ImlmError('the fractions must include 1 (100%): KS distances are taken against the 100% model', 'ERR_INVALID_ARG');
  const seed = o.seed ?? 0;
  const metric = headlineMetric(manifest);
  const resultsFile = path.join(o.outDir, 'results.json');
  await fs.mkdir(o.outDir, { recursive: true });
  const settings = {
    preset: o.preset ?? kRunDefaults.preset,
    ...o.pretrainOverrides,
    pretrainSteps: o.pretrainSteps ?? null,
    finetuneSteps: o.finetuneSteps ?? 'paper (100 epochs)',
    seed,
  };
  const results: PaperResults = existsSync(resultsFile)
    ? ((await readRunJson(resultsFile, 'the results of the finished cells')) as PaperResults)
    : emptyResults({ store: path.resolve(o.store), sourceFormat: manifest.sourceFormat, task: manifest.task as PaperResults['task'], classes: manifest.classes, metric, methods, fractions, settings });
  const save = () => writeRunJson(resultsFile, results);

  const ssl = methods.filter((m): m is Exclude<PaperMethod, 'supervised'> => m !== 'supervised');
  const smallest = fractions[0];
  const cells: Array<{ name: string; done: () => boolean; run: () => Promise<string> }> = [];
  const dir = (...parts: string[]) => path.join(o.outDir, ...parts);
  const checkpointOf = (m: PaperMethod) => o.checkpoints?.[m] ?? results.pretrain[m]?.checkpoint;
  const finetuneDir = (m: PaperMethod, f: number) => dir('finetune', m, fractionKey(f));

  const testMetric = async (predictions: string): Promise<MetricWithCi> => {
    const r = await analyzeMetrics(predictions, { resamples: o.resamples ?? kMetricsDefaults.resamples, seed });
    const e = metric.key === 'f1' ? r.f1 : r.aucMacro;
    if (e.value === null) throw new ImlmError(`${predictions}: ${metric.label} is undefined (${e.reason})`, 'ERR_INVALID_ARG');
    return { value: e.value, ...(e.ci ? { ci: [e.ci.low, e.ci.high] as [number, number] } : {}) };
  };

  for (const m of ssl) {
    if (o.checkpoints?.[m]) continue;
    cells.push({
      name: `pretrain/${m}`,
      done: () => results.pretrain[m] !== undefined,
      run: async () => {
        const out = dir('pretrain', m);
        const cuda = o.device === 'cpu' ? false : (await info()).cuda.available;
        const config = resolveRunConfig({
          preset: o.preset,
          overrides: { ...o.pretrainOverrides, intermediate: { ...o.pretrainOverrides?.intermediate, loss: kSslLoss[m] } },
          inChannels: manifest.channels,
          settings: { device: o.device, seed },
          cuda,
        });
        const data: DataChoice = { kind: 'store', store: o.store, demo: false, augment: o.augment ?? kRunDefaults.augment };
        const { source } = await createTrainSource(data, config, { cuda });
        const resume = hasCheckpoint(out);
        const started = Date.now();
        const r = await pretrain({
          config, source, outDir: out, resume, steps: o.pretrainSteps ?? config.totalSteps, signal: o.signal,
          onProgress: (p) => o.onEvent?.({ kind: 'progress', cell: `pretrain/${m}`, done: p.step, total: o.pretrainSteps ?? config.totalSteps, detail: `loss ${p.loss.toFixed(3)}` }),
        });
        if (r.cancelled) throw new ImlmError('stopped; run the same command again to continue', 'ERR_CANCELLED');
        const loss = (await fs.readFile(runPaths(out).metrics, 'utf8')).trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { step: number; loss: number }).map(({ step, loss }) => ({ step, loss }));
        results.pretrain[m] = { checkpoint: r.backbone ?? r.checkpoint, steps: r.stepsCompleted, seconds: (Date.now() - started) / 1000, loss };
        return `${r.stepsCompleted} steps, ${r.imagesPerSecond.toFixed(1)} img/s, final loss ${loss.at(-1)?.loss.toFixed(3)}`;
      },
    });
    cells.push({
      name: `probe/${m}`,
      done: () => results.probe[m] !== undefined,
      run: async () => {
        const r = await layerwiseProbe({
          checkpoint: checkpointOf(m)!, store: o.store, outDir: dir('probe', m), blocks: [1, 2, 3, 4], seed,
          ...(o.probeIterations ? { maxIterations: o.probeIterations } : {}), signal: o.signal,
        });
        const blocks: MetricWithCi[] = [];
        for (const b of r.blocks) blocks.push(await testMetric(b.predictions));
        results.probe[m] = blocks;
        results.linear[m] = blocks[3];
        return `blocks 1–4: ${blocks.map((b) => (100 * b.value).toFixed(1)).join(' / ')}`;
      },
    });
  }

  for (const m of methods) {
    for (const f of [...fractions].reverse()) {
      const cell = `finetune/${m}/${fractionKey(f)}`;
      cells.push({
        name: cell,
        done: () => results.finetune[m]?.[fractionKey(f)] !== undefined,
        run: async () => {
          const out = finetuneDir(m, f);
          const r = await finetune({
            ...(m === 'supervised'
              ? { fromScratch: true, arch: o.pretrainOverrides?.arch, stem: o.pretrainOverrides?.stem, imageSize: o.pretrainOverrides?.imageSize }
              : { checkpoint: checkpointOf(m)! }),
            store: o.store, outDir: out, fraction: f, seed, signal: o.signal, ...(o.device ? { device: o.device } : {}),
            resume: hasCheckpoint(out),
            ...(o.finetuneSteps ? { maxSteps: o.finetuneSteps } : {}),
            ...(o.evalEvery ? { evalEvery: o.evalEvery } : {}),
            ...(o.patience ? { patience: o.patience } : {}),
            ...(o.finetuneBatchSize ? { batchSize: o.finetuneBatchSize } : {}),
            onProgress: (p) => {
              if (p.stage === 'train') o.onEvent?.({ kind: 'progress', cell, done: p.step, total: p.maxSteps, detail: `loss ${p.loss.toFixed(3)}` });
            },
          });
          if (r.cancelled) throw new ImlmError('stopped; run the same command again to continue', 'ERR_CANCELLED');
          if (!r.predictions) throw new ImlmError(`${cell}: fine-tuning wrote no test predictions`, 'ERR_INTERNAL');
          const value = await testMetric(r.predictions);
          (results.finetune[m] ??= {})[fractionKey(f)] = { ...value, predictions: r.predictions };
          (results.roc[m] ??= {})[fractionKey(f)] = await rocCurve(r.predictions);
          if (m === 'supervised' && f === 1) results.linear.supervised = value;
          return `${r.stepsCompleted} steps${r.stoppedEarly ? ' (stopped early)' : ''}, test ${metric.label} ${(100 * value.value).toFixed(1)}`;
        },
      });
    }
  }

  for (const m of methods) {
    for (const f of fractions.filter((x) => x < 1)) {
      cells.push({
        name: `ks/${m}/${fractionKey(f)}`,
        done: () => results.ks[m]?.[fractionKey(f)] !== undefined,
        run: async () => {
          const r = await analyzeKs(results.finetune[m]![fractionKey(f)].predictions!, results.finetune[m]!['1'].predictions!);
          (results.ks[m] ??= {})[fractionKey(f)] = { statistic: r.statistic, pvalue: r.pvalue };
          return `KS ${r.statistic.toFixed(3)} (p ${r.pvalue.toExponential(1)})`;
        },
      });
    }
  }

  for (const m of ssl) {
    cells.push({
      name: `cka/${m}`,
      done: () => results.cka[m] !== undefined,
      run: async () => {
        // "Before": the pre-trained encoder's test features (cached by the probe cell);
        // "after": the encoder fine-tuned on the smallest fraction (its selected checkpoint).
        const before = dir('probe', m, 'features', 'test.safetensors');
        if (!existsSync(before)) await embed({ checkpoint: checkpointOf(m)!, store: o.store, split: 'test', out: before });
        const after = dir('cka', m, 'after-test.safetensors');
        await fs.mkdir(path.dirname(after), { recursive: true });
        await embed({ checkpoint: finetunePaths(finetuneDir(m, smallest)).best, store: o.store, split: 'test', out: after });
        const kernel = o.cka?.kernel ?? kCkaDefaults.kernel;
        const setSize = Math.min(o.cka?.setSize ?? kCkaDefaults.setSize, manifest.splits.test?.count ?? 0);
        const r = await analyzeCka(before, after, {
          tensors: ['block1', 'block2', 'block3', 'block4'], kernel,
          ...(kernel === 'rbf' ? { sigma: o.cka?.sigma, sigmaMedianFraction: o.cka?.sigmaMedianFraction } : {}),
          sets: o.cka?.sets ?? kCkaDefaults.sets, setSize, seed,
        });
        const kernelText = kernel === 'linear' ? 'linear' : o.cka?.sigma !== undefined ? `RBF σ ${o.cka.sigma}` : `RBF σ ${o.cka?.sigmaMedianFraction ?? kCkaDefaults.sigmaMedianFraction}× median`;
        results.cka[m] = { fraction: smallest, kernel: kernelText, blocks: r.results.map((e) => ({ mean: e.bootstrap?.mean ?? e.cka ?? NaN, std: e.bootstrap?.std ?? 0 })) };
        return results.cka[m]!.blocks.map((b) => b.mean.toFixed(2)).join(' / ');
      },
    });
  }

  const total = cells.length;
  for (const [index, cell] of cells.entries()) {
    if (o.signal?.aborted) throw new ImlmError('stopped; run the same command again to continue', 'ERR_CANCELLED');
    if (cell.done()) {
      o.onEvent?.({ kind: 'cell-skipped', cell: cell.name });
      continue;
    }
    o.onEvent?.({ kind: 'cell-start', cell: cell.name, index, total });
    const started = Date.now();
    const summary = await cell.run();
    results.timings[cell.name] = (Date.now() - started) / 1000;
    await save();
    o.onEvent?.({ kind: 'cell-done', cell: cell.name, seconds: results.timings[cell.name], summary });
  }
  await save();
  const plots = await renderPlots(results, dir('plots'));
  const report = renderReport(results, plots);
  await writeFileAtomic(dir('report.md'), report);
  return { results, report, resultsFile, plots };
}


/**
 * `imlm-native paper`: the paper's whole protocol on one data set (docs/evaluation-protocol.md; the paper's numbers in docs/method.md),
 * once per seed — pre-train each self-supervised method (or take given checkpoints), probe each
 * block and linear-probe every label fraction, fine-tune every method at every fraction (from
 * scratch for the supervised baseline), compare features before and after fine-tuning at the
 * smallest fraction (CKA) and each fraction's outputs with the 100% model's (KS) — then compare
 * the methods pairwise on the same test rows, pooled over the seeds (lib/paper/claims.ts), and
 * write report.md, results.json and the plots.
 *
 * A seed sets the initialisation, augmentation and data order of pre-training and fine-tuning,
 * and the label-fraction draw (the first seed uses the store's recorded draw). Every finished
 * cell is recorded in results.json (atomically) before the next starts, and every cell's own run
 * folder resumes, so an interrupted run continues where it stopped; a later run with more
 * seeds adds the missing ones.
 */
import { existsSync, promises as fs } from 'fs';
import path from 'path';
import { compare } from '../analysis/compare';
import { kMetricsDefaults, metrics as analyzeMetrics } from '../analysis/metrics';
import { ks as analyzeKs } from '../analysis/ks';
import { cka as analyzeCka, kCkaDefaults } from '../analysis/cka';
import { rocCurve } from '../analysis/roc';
import { writeFileAtomic } from '../atomic-write';
import { kRunDefaults, type TrainConfigOverrides } from '../config/train-config';
import { ImlmError } from '../errors';
import { info } from '../info';
import { embed, finetune, finetunePaths, layerwiseProbe, linearProbe } from '../eval';
import { readManifest, type Manifest } from '../data/store';
import { hasCheckpoint, readRunJson, writeRunJson } from '../run-folder';
import { pretrain, runPaths } from '../train/pretrain';
import { createTrainSource, resolveRunConfig, type DataChoice } from '../train/train-run';
import { comparisonsFor } from './claims';
import { estimatePaper } from './estimate';
import type { PaperMethod } from './paper-numbers';
import { renderPlots } from './plots';
import { renderReport } from './report';
import { emptyResults, emptySeedResults, fractionKey, type MetricWithCi, type PaperEstimate, type PaperResults, type PairedValue, type SeedResults } from './results';

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
  /** Bootstrap resamples of the test metrics and the paired comparisons (default 1000). */
  resamples?: number;
  /** The first seed (default 0); seeds are seed, seed + 1, … */
  seed?: number;
  /** How many seeds (default 1). */
  seeds?: number;
  /** The budget's name, recorded in results.json and the report (the caller applies its values). */
  budget?: string;
  /** Time a few steps first and tell onEvent the estimate (default true). */
  estimate?: boolean;
  device?: string;
  onEvent?: (e: PaperEvent) => void;
  signal?: AbortSignal;
}

export type PaperEvent =
  | { kind: 'estimate'; estimate: PaperEstimate }
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

interface Cell {
  name: string;
  done: () => boolean;
  run: () => Promise<string>;
}

/** The settings a resumed run must share with the finished cells (the seed count may grow). */
function sameSettings(a: PaperResults, b: PaperResults): string[] {
  const differ: string[] = [];
  for (const key of ['store', 'methods', 'fractions', 'settings', 'budget'] as const) {
    if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) differ.push(`${key}: ${JSON.stringify(a[key])} (results.json) vs ${JSON.stringify(b[key])} (now)`);
  }
  if (a.seeds[0] !== b.seeds[0]) differ.push(`first seed: ${a.seeds[0]} (results.json) vs ${b.seeds[0]} (now)`);
  return differ;
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
  const firstSeed = o.seed ?? 0;
  const seedCount = o.seeds ?? 1;
  if (!Number.isInteger(seedCount) || seedCount < 1) throw new ImlmError(`Expected seeds ≥ 1 but received ${seedCount}`, 'ERR_INVALID_ARG');
  const seeds = Array.from({ length: seedCount }, (_, i) => firstSeed + i);
  const metric = headlineMetric(manifest);
  const resamples = o.resamples ?? kMetricsDefaults.resamples;
  const resultsFile = path.join(o.outDir, 'results.json');
  await fs.mkdir(o.outDir, { recursive: true });
  const settings = {
    preset: o.preset ?? kRunDefaults.preset,
    ...o.pretrainOverrides,
    pretrainSteps: o.pretrainSteps ?? null,
    finetuneSteps: o.finetuneSteps ?? 'paper (100 epochs)',
    evalEvery: o.evalEvery ?? null,
    finetuneBatchSize: o.finetuneBatchSize ?? null,
    resamples,
    cka: o.cka ?? null,
  };
  const fresh = emptyResults({
    store: path.resolve(o.store), sourceFormat: manifest.sourceFormat, task: manifest.task as PaperResults['task'], classes: manifest.classes,
    metric, methods, fractions, settings, budget: o.budget ?? null, seeds,
  });
  let results = fresh;
  if (existsSync(resultsFile)) {
    const old = (await readRunJson(resultsFile, 'the results of the finished cells')) as PaperResults;
    if (old.formatVersion !== 2) {
      throw new ImlmError(`${resultsFile} was written by an earlier version of paper (format ${old.formatVersion}); choose a new --out`, 'ERR_INVALID_ARG');
    }
    const differ = sameSettings(old, fresh);
    if (differ.length) {
      throw new ImlmError(`${o.outDir} holds a paper run with other settings; run it with its own settings or choose a new --out. Differences: ${differ.join('; ')}`, 'ERR_INVALID_ARG');
    }
    results = old;
    // More seeds than before: add theirs; fewer: the finished ones stay and are reported.
    for (const seed of seeds) if (!results.seeds.includes(seed)) (results.seeds.push(seed), results.runs.push(emptySeedResults(seed)));
  }
  const save = () => writeRunJson(resultsFile, results);
  const ssl = methods.filter((m): m is Exclude<PaperMethod, 'supervised'> => m !== 'supervised');
  const smallest = fractions[0];
  const cuda = o.device === 'cpu' ? false : (await info()).cuda.available;
  const dataChoice: DataChoice = { kind: 'store', store: o.store, demo: false, augment: o.augment ?? kRunDefaults.augment };
  const pretrainConfig = (m: Exclude<PaperMethod, 'supervised'>, seed: number) =>
    resolveRunConfig({
      preset: o.preset,
      overrides: { ...o.pretrainOverrides, intermediate: { ...o.pretrainOverrides?.intermediate, loss: kSslLoss[m] } },
      inChannels: manifest.channels,
      settings: { device: o.device, seed },
      cuda,
    });
  const finetuneBase = (m: PaperMethod, run: SeedResults) => ({
    ...(m === 'supervised'
      ? { fromScratch: true, arch: o.pretrainOverrides?.arch, stem: o.pretrainOverrides?.stem, imageSize: o.pretrainOverrides?.imageSize }
      : { checkpoint: o.checkpoints?.[m] ?? run.pretrain[m]?.checkpoint }),
    store: o.store, seed: run.seed, ...(o.device ? { device: o.device } : {}),
    ...(o.finetuneBatchSize ? { batchSize: o.finetuneBatchSize } : {}),
    ...(o.patience ? { patience: o.patience } : {}),
  });

  if (o.estimate !== false && !results.estimate) {
    const counts = { train: manifest.splits.train?.count ?? 0, val: manifest.splits.val?.count ?? 0, test: manifest.splits.test?.count ?? 0 };
    const costliest = ssl.includes('mse') ? 'mse' : ssl.includes('barlow') ? 'barlow' : ssl[0];
    const pretraining = costliest && ssl.some((m) => !o.checkpoints?.[m]);
    const config = pretraining ? pretrainConfig(costliest, firstSeed) : undefined;
    const finetuneSteps = o.finetuneSteps ?? Math.ceil((100 * counts.train) / (o.finetuneBatchSize ?? 32));
    results.estimate = await estimatePaper(
      {
        seeds: seeds.length, sslMethods: ssl.filter((m) => !o.checkpoints?.[m]).length, methods: methods.length, fractions: fractions.length,
        pretrainSteps: o.pretrainSteps ?? config?.totalSteps ?? 0, finetuneSteps,
        validations: Math.ceil(finetuneSteps / (o.evalEvery ?? finetuneSteps)), counts,
      },
      {
        scratch: path.join(o.outDir, 'estimate'),
        pretrain: config ? { config, source: (await createTrainSource(dataChoice, config, { cuda })).source } : undefined,
        finetune: { ...finetuneBase('supervised', emptySeedResults(firstSeed)), fraction: 1 },
        signal: o.signal,
      },
    );
    await save();
    o.onEvent?.({ kind: 'estimate', estimate: results.estimate });
  }

  const testMetric = async (predictions: string, seed: number): Promise<MetricWithCi & { accuracy: number }> => {
    const r = await analyzeMetrics(predictions, { resamples, seed });
    const e = metric.key === 'f1' ? r.f1 : r.aucMacro;
    if (e.value === null) throw new ImlmError(`${predictions}: ${metric.label} is undefined (${e.reason})`, 'ERR_INVALID_ARG');
    return { value: e.value, ...(e.ci ? { ci: [e.ci.low, e.ci.high] as [number, number] } : {}), accuracy: r.accuracy.value ?? NaN };
  };

  const cells: Cell[] = [];
  for (const [index, seed] of results.seeds.entries()) {
    if (!seeds.includes(seed)) continue;
    const run = results.runs[index];
    const dir = (...parts: string[]) => path.join(o.outDir, `seed-${seed}`, ...parts);
    const cellName = (name: string) => `seed-${seed}/${name}`;
    const checkpointOf = (m: PaperMethod) => o.checkpoints?.[m] ?? run.pretrain[m]?.checkpoint;
    const finetuneDir = (m: PaperMethod, f: number) => dir('finetune', m, fractionKey(f));
    // The first seed uses the store's recorded label-fraction draw; the others draw anew.
    const fractionSeed = seed === firstSeed ? undefined : seed;

    for (const m of ssl) {
      if (!o.checkpoints?.[m]) {
        cells.push({
          name: cellName(`pretrain/${m}`),
          done: () => run.pretrain[m] !== undefined,
          run: async () => {
            const out = dir('pretrain', m);
            const config = pretrainConfig(m, seed);
            const { source } = await createTrainSource(dataChoice, config, { cuda });
            const started = Date.now();
            const steps = o.pretrainSteps ?? config.totalSteps;
            const r = await pretrain({
              config, source, outDir: out, resume: hasCheckpoint(out), steps, signal: o.signal,
              onProgress: (p) => o.onEvent?.({ kind: 'progress', cell: cellName(`pretrain/${m}`), done: p.step, total: steps, detail: `loss ${p.loss.toFixed(3)}` }),
            });
            if (r.cancelled) throw new ImlmError('stopped; run the same command again to continue', 'ERR_CANCELLED');
            const loss = (await fs.readFile(runPaths(out).metrics, 'utf8')).trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { step: number; loss: number }).map(({ step, loss }) => ({ step, loss }));
            run.pretrain[m] = { checkpoint: r.backbone ?? r.checkpoint, steps: r.stepsCompleted, seconds: (Date.now() - started) / 1000, loss };
            return `${r.stepsCompleted} steps, ${r.imagesPerSecond.toFixed(1)} img/s, final loss ${loss.at(-1)?.loss.toFixed(3)}`;
          },
        });
      }
      cells.push({
        name: cellName(`probe/${m}`),
        done: () => run.probe[m] !== undefined,
        run: async () => {
          const r = await layerwiseProbe({
            checkpoint: checkpointOf(m)!, store: o.store, outDir: dir('probe', m), blocks: [1, 2, 3, 4], seed,
            ...(o.probeIterations ? { maxIterations: o.probeIterations } : {}), signal: o.signal,
          });
          const blocks: Array<MetricWithCi & { accuracy: number }> = [];
          for (const b of r.blocks) blocks.push(await testMetric(b.predictions, seed));
          run.probe[m] = blocks.map(({ value, ci }) => ({ value, ...(ci ? { ci } : {}) }));
          (run.linear[m] ??= {})['1'] = { ...blocks[3], predictions: r.blocks[3].predictions };
          return `blocks 1–4: ${blocks.map((b) => (100 * b.value).toFixed(1)).join(' / ')}`;
        },
      });
      for (const f of fractions.filter((x) => x < 1)) {
        cells.push({
          name: cellName(`linear/${m}/${fractionKey(f)}`),
          done: () => run.linear[m]?.[fractionKey(f)] !== undefined,
          run: async () => {
            // The probe cell's features of the whole splits serve every fraction: the network ran once.
            const r = await linearProbe({
              checkpoint: checkpointOf(m)!, store: o.store, outDir: dir('linear', m, fractionKey(f)), featuresDir: dir('probe', m, 'features'),
              fraction: f, ...(fractionSeed !== undefined ? { fractionSeed } : {}), seed,
              ...(o.probeIterations ? { maxIterations: o.probeIterations } : {}), signal: o.signal,
            });
            const value = await testMetric(r.blocks[0].predictions, seed);
            (run.linear[m] ??= {})[fractionKey(f)] = { ...value, predictions: r.blocks[0].predictions };
            return `${r.counts.train} labelled rows, test ${metric.label} ${(100 * value.value).toFixed(1)}`;
          },
        });
      }
    }

    for (const m of methods) {
      for (const f of [...fractions].reverse()) {
        const cell = cellName(`finetune/${m}/${fractionKey(f)}`);
        cells.push({
          name: cell,
          done: () => run.finetune[m]?.[fractionKey(f)] !== undefined,
          run: async () => {
            const out = finetuneDir(m, f);
            const r = await finetune({
              ...finetuneBase(m, run), outDir: out, fraction: f, ...(fractionSeed !== undefined ? { fractionSeed } : {}), signal: o.signal,
              resume: hasCheckpoint(out),
              ...(o.finetuneSteps ? { maxSteps: o.finetuneSteps } : {}),
              ...(o.evalEvery ? { evalEvery: o.evalEvery } : {}),
              onProgress: (p) => {
                if (p.stage === 'train') o.onEvent?.({ kind: 'progress', cell, done: p.step, total: p.maxSteps, detail: `loss ${p.loss.toFixed(3)}` });
              },
            });
            if (r.cancelled) throw new ImlmError('stopped; run the same command again to continue', 'ERR_CANCELLED');
            if (!r.predictions) throw new ImlmError(`${cell}: fine-tuning wrote no test predictions`, 'ERR_INTERNAL');
            const value = await testMetric(r.predictions, seed);
            (run.finetune[m] ??= {})[fractionKey(f)] = { ...value, predictions: r.predictions };
            (run.roc[m] ??= {})[fractionKey(f)] = await rocCurve(r.predictions);
            return `${r.stepsCompleted} steps${r.stoppedEarly ? ' (stopped early)' : ''}, test ${metric.label} ${(100 * value.value).toFixed(1)}`;
          },
        });
      }
    }

    for (const m of methods) {
      for (const f of fractions.filter((x) => x < 1)) {
        cells.push({
          name: cellName(`ks/${m}/${fractionKey(f)}`),
          done: () => run.ks[m]?.[fractionKey(f)] !== undefined,
          run: async () => {
            const r = await analyzeKs(run.finetune[m]![fractionKey(f)].predictions!, run.finetune[m]!['1'].predictions!);
            (run.ks[m] ??= {})[fractionKey(f)] = { statistic: r.statistic, pvalue: r.pvalue };
            return `KS ${r.statistic.toFixed(3)} (p ${r.pvalue.toExponential(1)})`;
          },
        });
      }
    }

    for (const m of ssl) {
      cells.push({
        name: cellName(`cka/${m}`),
        done: () => run.cka[m] !== undefined,
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
          run.cka[m] = { fraction: smallest, kernel: kernelText, blocks: r.results.map((e) => ({ mean: e.bootstrap?.mean ?? e.cka ?? NaN, std: e.bootstrap?.std ?? 0 })) };
          return run.cka[m]!.blocks.map((b) => b.mean.toFixed(2)).join(' / ');
        },
      });
    }
  }

  // Paired comparisons, pooled over the seeds that ran; rendered again whenever seeds are added.
  const requestedRuns = () => results.runs.filter((r) => seeds.includes(r.seed));
  const pairedKey = (list: number[]) => JSON.stringify(list);
  cells.push({
    name: 'compare',
    done: () => results.paired.length > 0 && pairedKey(results.pairedSeeds) === pairedKey(requestedRuns().map((r) => r.seed)),
    run: async () => {
      const runs = requestedRuns();
      const pooled: PaperResults['paired'] = [];
      for (const spec of comparisonsFor(methods)) {
        for (const f of fractions) {
          const files = (m: PaperMethod) => runs.map((r) => r[spec.evaluation][m]?.[fractionKey(f)]?.predictions).filter((x): x is string => !!x);
          const a = files(spec.a);
          const b = files(spec.b);
          if (a.length !== runs.length || b.length !== runs.length) continue;
          const c = await compare(a, b, { resamples, seed: firstSeed });
          const headline = metric.key === 'f1' ? c.f1 : c.aucMacro;
          const value = (d: typeof headline): PairedValue | null =>
            d.difference === null
              ? null
              : { difference: d.difference, ci: d.ci ? [d.ci.low, d.ci.high] : null, shown: d.shown, perSeed: d.a.map((x, i) => (x ?? NaN) - (d.b[i] ?? NaN)) };
          const h = value(headline);
          if (!h) continue;
          pooled.push({ ...spec, fraction: f, headline: h, accuracy: manifest.task === 'multilabel' ? null : value(c.accuracy), resamples });
        }
      }
      results.paired = pooled;
      results.pairedSeeds = runs.map((r) => r.seed);
      return `${pooled.length} comparisons over ${runs.length} seed(s), ${pooled.filter((p) => p.headline.shown).length} with an interval that excludes 0`;
    },
  });

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
  const plots = await renderPlots(results, path.join(o.outDir, 'plots'));
  const report = renderReport(results, plots);
  await writeFileAtomic(path.join(o.outDir, 'report.md'), report);
  return { results, report, resultsFile, plots };
}

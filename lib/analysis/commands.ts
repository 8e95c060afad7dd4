/**
 * The `imlm-native analyze` commands, one row each: name, description, positional arguments,
 * flags, the options schema of the library function it calls, the call itself, and how its
 * report prints (`--json`: exactly one JSON object, snake_case fields as docs/cli.md lists them;
 * else a table). lib/cli/analyze-command.ts walks this table, so a new analysis is one row here.
 */
import type { Schema } from '../config/validate';
import type { SplitName } from '../data/store';
import { ImlmError } from '../errors';
import { cka, ckaOptionsSchema, kCkaDefaults, type CkaReport } from './cka';
import { ks, ksOptionsSchema, type KsReport } from './ks';
import { compare, compareOptionsSchema, type CompareReport, type PairedDifference } from './compare';
import { metrics, metricsOptionsSchema, type Estimate, type MetricsReport } from './metrics';

/** A command-line flag in commander's syntax ('--seed <n>'); with `parse`, its text must be a number (an integer). */
export type AnalysisFlag =
  | { flags: string; description: string; parse?: undefined; default?: string }
  | { flags: string; description: string; parse: 'integer' | 'number'; default?: number };

/** What a row declares; `command()` turns it into an AnalysisCommand. */
interface AnalysisCommandSpec<Flags, Report> {
  name: string;
  description: string;
  /** Positional arguments in order, commander syntax ('<predictions>'). */
  arguments: Array<{ name: string; description: string }>;
  /** The command's own flags; every command also takes --json. */
  flags: AnalysisFlag[];
  /** The options schema of the library function `analyse` calls (validated there). */
  schema: Schema;
  analyse(args: string[], flags: Flags): Promise<Report>;
  json(report: Report): unknown;
  table(report: Report): string;
}

export interface AnalysisCommand {
  name: string;
  description: string;
  arguments: Array<{ name: string; description: string }>;
  flags: AnalysisFlag[];
  schema: Schema;
  /** Runs the analysis on the parsed command line; the text to print. */
  run(args: string[], flags: Record<string, unknown>): Promise<string>;
}

function command<Flags, Report>(spec: AnalysisCommandSpec<Flags, Report>): AnalysisCommand {
  const { analyse, json, table, ...rest } = spec;
  return {
    ...rest,
    async run(args, flags) {
      const report = await analyse(args, flags as Flags);
      return flags.json ? JSON.stringify(json(report)) : table(report);
    },
  };
}

const fixed = (v: number | null, digits = 4) => (v === null ? '—' : v.toFixed(digits));

// ---- metrics ----

function estimateJson(e: Estimate) {
  return {
    value: e.value,
    ci: e.ci ? { low: e.ci.low, high: e.ci.high, confidence: e.ci.confidence } : null,
    paper_interval: e.paperInterval,
    resamples_used: e.resamplesUsed,
    reason: e.reason,
  };
}

export function metricsJson(r: MetricsReport) {
  return {
    task: r.task,
    samples: r.samples,
    classes: r.classes,
    predictions: r.predictions,
    labels: r.labels,
    bootstrap: r.bootstrap,
    auc_macro: estimateJson(r.aucMacro),
    auc_per_class: r.aucPerClass.map((c) => ({
      class_index: c.classIndex,
      class: c.className,
      positives: c.positives,
      negatives: c.negatives,
      included: c.included,
      ...estimateJson(c.auc),
    })),
    excluded_classes: r.excludedClasses.map((c) => ({ class_index: c.classIndex, class: c.className, reason: c.reason })),
    f1: estimateJson(r.f1),
    f1_positive: estimateJson(r.f1Positive),
    accuracy: estimateJson(r.accuracy),
  };
}

function estimateRow(name: string, e: Estimate): string {
  const ci = e.ci ? `${fixed(e.ci.low)}–${fixed(e.ci.high)}` : '—';
  const paper = e.paperInterval ? `${fixed(e.paperInterval.low)}–${fixed(e.paperInterval.high)}` : '—';
  const value = e.value === null ? `— (${e.reason})` : fixed(e.value);
  return `${name.padEnd(24)} ${value.padEnd(8)} ${ci.padEnd(15)} ${paper}`;
}

export function metricsTable(r: MetricsReport): string {
  const pct = Math.round(r.bootstrap.confidence * 100);
  const lines = [
    `${r.predictions ?? 'predictions'}: ${r.task}, ${r.samples} samples, labels from ${r.labels ?? 'the predictions file'}`,
    `intervals: percentile bootstrap, ${r.bootstrap.resamples} resamples, seed ${r.bootstrap.seed}; the paper's mean ± 1.96·std/√B beside it for comparison`,
    `${'metric'.padEnd(24)} ${'value'.padEnd(8)} ${`${pct}% CI`.padEnd(15)} paper interval`,
    estimateRow('AUC (macro)', r.aucMacro),
  ];
  for (const c of r.aucPerClass) if (c.included) lines.push(estimateRow(`  AUC ${c.className}`, c.auc));
  lines.push(estimateRow('F1 (macro)', r.f1));
  if (r.task === 'binary') lines.push(estimateRow('F1 (positive class)', r.f1Positive));
  lines.push(estimateRow(r.task === 'multilabel' ? 'accuracy (all labels)' : 'accuracy', r.accuracy));
  for (const c of r.excludedClasses) lines.push(`excluded from macro AUC: ${c.className}: ${c.reason}`);
  return lines.join('\n');
}

const metricsCommand = command({
  name: 'metrics',
  description: 'ROC AUC (per class, macro), F1 and accuracy of a predictions file, with seeded bootstrap intervals',
  arguments: [{ name: '<predictions>', description: 'predictions file (safetensors: ids, labels, probabilities)' }],
  flags: [
    { flags: '--labels <source>', description: "labels from a prepared store folder or a safetensors file with ids and labels (default: the predictions file's)" },
    { flags: '--split <name>', description: 'the store split --labels reads', default: 'test' },
    { flags: '--resamples <n>', description: 'bootstrap resamples (0: no intervals)', parse: 'integer', default: 1000 },
    { flags: '--seed <n>', description: 'seed of the bootstrap', parse: 'integer', default: 0 },
    { flags: '--confidence <x>', description: 'confidence level of the percentile intervals', parse: 'number', default: 0.95 },
  ],
  schema: metricsOptionsSchema,
  analyse: ([predictions], flags: { labels?: string; split: string; resamples: number; seed: number; confidence: number }) =>
    metrics(predictions, {
      labels: flags.labels,
      split: flags.split as SplitName,
      resamples: flags.resamples,
      seed: flags.seed,
      confidence: flags.confidence,
    }),
  json: metricsJson,
  table: metricsTable,
});

// ---- ks ----

export function ksJson(r: KsReport) {
  return {
    task: r.task,
    a: r.a,
    b: r.b,
    method: r.method,
    statistic: r.statistic,
    pvalue: r.pvalue,
    per_class: r.perClass.map((c) => ({
      class_index: c.classIndex,
      class: c.className,
      statistic: c.statistic,
      pvalue: c.pvalue,
      n1: c.n1,
      n2: c.n2,
      effective_n: c.effectiveN,
      method: c.method,
    })),
  };
}

export function ksTable(r: KsReport): string {
  const lines = [`KS distance (two-sample; p-value as scipy ks_2samp method='${r.method}'): ${r.a} vs ${r.b}`];
  lines.push(`${'class'.padEnd(24)} ${'D'.padEnd(8)} p-value`);
  for (const c of r.perClass) lines.push(`${c.className.padEnd(24)} ${fixed(c.statistic).padEnd(8)} ${c.pvalue.toPrecision(4)}`);
  if (r.perClass.length > 1) lines.push(`${'mean over classes'.padEnd(24)} ${fixed(r.statistic).padEnd(8)} ${r.pvalue.toPrecision(4)} (mean of p-values)`);
  return lines.join('\n');
}

const ksCommand = command({
  name: 'ks',
  description: "two-sample Kolmogorov–Smirnov distance between two models' output probabilities on the same samples",
  arguments: [
    { name: '<a>', description: 'predictions file' },
    { name: '<b>', description: 'predictions file of the same task and classes' },
  ],
  flags: [
    { flags: '--method <m>', description: "p-value as scipy's ks_2samp: asymp, exact, or auto (exact up to 10,000 values per sample)", default: 'asymp' },
    { flags: '--allow-different-samples', description: 'do not require both files to hold the same sample ids' },
  ],
  schema: ksOptionsSchema,
  analyse: ([a, b], flags: { method: string; allowDifferentSamples?: boolean }) =>
    ks(a, b, { sameSamples: !flags.allowDifferentSamples, method: flags.method as 'asymp' | 'exact' | 'auto' }),
  json: ksJson,
  table: ksTable,
});

// ---- cka ----

export function ckaJson(r: CkaReport) {
  const results = r.results.map((e) => ({
    tensor: e.tensor,
    block: /^block[1-4]$/.test(e.tensor) ? Number(e.tensor.slice(5)) : null,
    cka: e.cka,
    full_skipped: e.fullSkipped,
    sigma: e.sigma,
    bootstrap: e.bootstrap
      ? { mean: e.bootstrap.mean, std: e.bootstrap.std, sets: e.bootstrap.sets, set_size: e.bootstrap.setSize, seed: e.bootstrap.seed, values: e.bootstrap.values }
      : null,
  }));
  const single = results.length === 1 ? results[0] : undefined;
  return {
    a: r.a,
    b: r.b,
    kernel: r.kernel,
    sigma: r.sigma,
    sigma_median_fraction: r.sigmaMedianFraction,
    samples: r.samples,
    results,
    // One representation compared: its numbers at the top level too.
    ...(single ? { cka: single.cka, mean: single.bootstrap?.mean ?? null, std: single.bootstrap?.std ?? null } : {}),
  };
}

export function ckaTable(r: CkaReport): string {
  const kernel = r.kernel === 'linear' ? 'linear' : r.sigma !== null ? `RBF, σ = ${r.sigma}` : `RBF, σ = ${r.sigmaMedianFraction} × median distance`;
  const lines = [`CKA (${kernel}), ${r.samples} paired samples: ${r.a} vs ${r.b}`, `${'tensor'.padEnd(10)} ${'all rows'.padEnd(9)} bootstrap mean ± std`];
  for (const e of r.results) {
    const boot = e.bootstrap ? `${fixed(e.bootstrap.mean)} ± ${fixed(e.bootstrap.std)} (${e.bootstrap.sets} sets × ${e.bootstrap.setSize}, seed ${e.bootstrap.seed})` : '—';
    lines.push(`${e.tensor.padEnd(10)} ${fixed(e.cka).padEnd(9)} ${boot}${e.fullSkipped ? `  [all rows skipped: ${e.fullSkipped}]` : ''}`);
  }
  return lines.join('\n');
}

interface CkaFlags {
  block?: number;
  allBlocks?: boolean;
  tensor?: string;
  kernel: string;
  sigma?: number;
  sigmaMedianFraction?: number;
  sets: number;
  setSize: number;
  seed: number;
  maxFullSamples: number;
}

/** --block N, --all-blocks and --tensor NAME choose the representations: at most one of them; none means every shared block. */
function ckaTensors(flags: CkaFlags): string[] | undefined {
  const chosen = [flags.block !== undefined, flags.allBlocks === true, flags.tensor !== undefined].filter(Boolean).length;
  if (chosen > 1) throw new ImlmError('Expected at most one of --block, --all-blocks, --tensor but received several', 'ERR_INVALID_ARG');
  if (flags.block !== undefined && !(flags.block >= 1 && flags.block <= 4)) {
    throw new ImlmError(`Expected a block 1–4 for --block but received ${flags.block}`, 'ERR_INVALID_ARG');
  }
  return flags.block !== undefined ? [`block${flags.block}`] : flags.tensor !== undefined ? [flags.tensor] : undefined;
}

const ckaCommand = command({
  name: 'cka',
  description: "CKA between two features files (rows paired by sample id), per block, on all rows and by the paper's bootstrap",
  arguments: [
    { name: '<a>', description: 'features file (e.g. before fine-tuning)' },
    { name: '<b>', description: 'features file of the same samples (e.g. after)' },
  ],
  flags: [
    { flags: '--block <n>', description: 'compare block N only (1–4) (default: every block, --all-blocks)', parse: 'integer' },
    { flags: '--all-blocks', description: 'compare every block both files hold (the default)' },
    { flags: '--tensor <name>', description: 'compare one named tensor (block1..block4, embedding) (default: the blocks)' },
    { flags: '--kernel <kind>', description: 'rbf (the paper\'s) or linear', default: kCkaDefaults.kernel },
    { flags: '--sigma <x>', description: 'RBF: absolute σ (the paper: 0.8) (default: none, σ from --sigma-median-fraction)', parse: 'number' },
    { flags: '--sigma-median-fraction <f>', description: 'RBF: σ = f × √(median non-zero squared distance) (default 1)', parse: 'number' },
    { flags: '--sets <n>', description: 'bootstrap sets (0: none)', parse: 'integer', default: 50 },
    { flags: '--set-size <n>', description: 'rows per set, drawn without replacement', parse: 'integer', default: 1000 },
    { flags: '--seed <n>', description: 'seed of the sets', parse: 'integer', default: 0 },
    { flags: '--max-full-samples <n>', description: 'RBF on all rows only up to this many rows', parse: 'integer', default: 4096 },
  ],
  schema: ckaOptionsSchema,
  analyse: ([a, b], flags: CkaFlags) =>
    cka(a, b, {
      tensors: ckaTensors(flags),
      kernel: flags.kernel as 'linear' | 'rbf',
      sigma: flags.sigma,
      sigmaMedianFraction: flags.sigmaMedianFraction,
      sets: flags.sets,
      setSize: flags.setSize,
      seed: flags.seed,
      maxFullSamples: flags.maxFullSamples,
    }),
  json: ckaJson,
  table: ckaTable,
});


// ---- compare ----

function differenceJson(d: PairedDifference) {
  return {
    difference: d.difference,
    ci: d.ci ? { low: d.ci.low, high: d.ci.high, confidence: d.ci.confidence } : null,
    shown: d.shown,
    a: d.a,
    b: d.b,
    resamples_used: d.resamplesUsed,
    reason: d.reason,
  };
}

export function compareJson(r: CompareReport) {
  return {
    task: r.task,
    samples: r.samples,
    pairs: r.pairs,
    a: r.a,
    b: r.b,
    bootstrap: r.bootstrap,
    auc_macro: differenceJson(r.aucMacro),
    f1: differenceJson(r.f1),
    accuracy: differenceJson(r.accuracy),
  };
}

function differenceRow(name: string, d: PairedDifference): string {
  const mean = (values: Array<number | null>) => (values.some((v) => v === null) ? null : values.reduce((s: number, v) => s + v!, 0) / values.length);
  const value = d.difference === null ? `— (${d.reason})` : fixed(d.difference);
  const ci = d.ci ? `${fixed(d.ci.low)} to ${fixed(d.ci.high)}` : '—';
  return `${name.padEnd(12)} ${fixed(mean(d.a)).padEnd(8)} ${fixed(mean(d.b)).padEnd(8)} ${value.padEnd(8)} ${ci.padEnd(20)} ${d.ci ? (d.shown ? 'yes' : 'no (covers 0)') : '—'}`;
}

export function compareTable(r: CompareReport): string {
  const pct = Math.round(r.bootstrap.confidence * 100);
  const pairs = r.pairs === 1 ? `${r.a[0]} − ${r.b[0]}` : `${r.pairs} pairs (mean over pairs): ${r.a.join(', ')} − ${r.b.join(', ')}`;
  return [
    `A − B on the same ${r.samples} samples (${r.task}): ${pairs}`,
    `intervals: paired percentile bootstrap (test rows resampled jointly), ${r.bootstrap.resamples} resamples, seed ${r.bootstrap.seed}`,
    `${'metric'.padEnd(12)} ${'A'.padEnd(8)} ${'B'.padEnd(8)} ${'A − B'.padEnd(8)} ${`${pct}% CI`.padEnd(20)} shown`,
    differenceRow('AUC (macro)', r.aucMacro),
    differenceRow('F1 (macro)', r.f1),
    differenceRow('accuracy', r.accuracy),
  ].join('\n');
}

const splitList = (text: string) => text.split(',').map((s) => s.trim()).filter(Boolean);

const compareCommand = command({
  name: 'compare',
  description: 'difference A − B of two models on the same test samples (AUC, F1, accuracy) with a paired bootstrap interval; comma-separated lists pool seeds',
  arguments: [
    { name: '<a>', description: 'predictions file of model A (or a comma-separated list, one per seed)' },
    { name: '<b>', description: 'predictions file of model B on the same samples (or a list paired in order with A\'s)' },
  ],
  flags: [
    { flags: '--resamples <n>', description: 'bootstrap resamples (0: no intervals)', parse: 'integer', default: 1000 },
    { flags: '--seed <n>', description: 'seed of the bootstrap', parse: 'integer', default: 0 },
    { flags: '--confidence <x>', description: 'confidence level of the percentile intervals', parse: 'number', default: 0.95 },
  ],
  schema: compareOptionsSchema,
  analyse: ([a, b], flags: { resamples: number; seed: number; confidence: number }) =>
    compare(splitList(a), splitList(b), { resamples: flags.resamples, seed: flags.seed, confidence: flags.confidence }),
  json: compareJson,
  table: compareTable,
});

/** Every `analyze` command, in the order `imlm-native analyze --help` lists them. */
export const kAnalysisCommands: readonly AnalysisCommand[] = [metricsCommand, compareCommand, ksCommand, ckaCommand];

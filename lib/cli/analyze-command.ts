/**
 * `imlm-native analyze metrics|ks|cka`: the evaluation analyses (lib/analysis) on predictions and
 * features files. `--json` prints exactly one JSON object (fields in docs/cli.md), else a table.
 */
import type { Command } from 'commander';
import { ImlmError } from '../errors';
import { cka, type CkaReport } from '../analysis/cka';
import { ks, type KsReport } from '../analysis/ks';
import { metrics, type Estimate, type MetricsReport } from '../analysis/metrics';
import type { SplitName } from '../data/store';

function parseNumber(flag: string, integer: boolean) {
  return (text: string): number => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
      throw new ImlmError(`Expected ${integer ? 'an integer' : 'a number'} for ${flag} but received '${text}'`, 'ERR_INVALID_ARG');
    }
    return value;
  };
}

function print(text: string): void {
  process.stdout.write(text + '\n');
}

// ---- JSON (snake_case, docs/cli.md) ----

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

// ---- tables ----

const fixed = (v: number | null, digits = 4) => (v === null ? '—' : v.toFixed(digits));

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

export function ksTable(r: KsReport): string {
  const lines = [`KS distance (two-sample; p-value as scipy ks_2samp method='${r.method}'): ${r.a} vs ${r.b}`];
  lines.push(`${'class'.padEnd(24)} ${'D'.padEnd(8)} p-value`);
  for (const c of r.perClass) lines.push(`${c.className.padEnd(24)} ${fixed(c.statistic).padEnd(8)} ${c.pvalue.toPrecision(4)}`);
  if (r.perClass.length > 1) lines.push(`${'mean over classes'.padEnd(24)} ${fixed(r.statistic).padEnd(8)} ${r.pvalue.toPrecision(4)} (mean of p-values)`);
  return lines.join('\n');
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

// ---- commands ----

export function registerAnalyze(program: Command): void {
  const analyze = program.command('analyze').description('evaluation analyses on predictions and features files: metrics, ks, cka (docs/evaluation.md)');

  analyze
    .command('metrics')
    .description('ROC AUC (per class, macro), F1 and accuracy of a predictions file, with seeded bootstrap intervals')
    .argument('<predictions>', 'predictions file (safetensors: ids, labels, probabilities)')
    .option('--labels <source>', 'labels from a prepared store folder or a safetensors file with ids and labels (default: the predictions file\'s)')
    .option('--split <name>', 'the store split --labels reads', 'test')
    .option('--resamples <n>', 'bootstrap resamples (0: no intervals)', parseNumber('--resamples', true), 1000)
    .option('--seed <n>', 'seed of the bootstrap', parseNumber('--seed', true), 0)
    .option('--confidence <x>', 'confidence level of the percentile intervals', parseNumber('--confidence', false), 0.95)
    .option('--json', 'print one JSON object')
    .action(async (predictions: string, flags: { labels?: string; split: string; resamples: number; seed: number; confidence: number; json?: boolean }) => {
      const report = await metrics(predictions, {
        labels: flags.labels,
        split: flags.split as SplitName,
        resamples: flags.resamples,
        seed: flags.seed,
        confidence: flags.confidence,
      });
      print(flags.json ? JSON.stringify(metricsJson(report)) : metricsTable(report));
    });

  analyze
    .command('ks')
    .description('two-sample Kolmogorov–Smirnov distance between two models\' output probabilities on the same samples')
    .argument('<a>', 'predictions file')
    .argument('<b>', 'predictions file of the same task and classes')
    .option('--method <m>', "p-value as scipy's ks_2samp: asymp, exact, or auto (exact up to 10,000 values per sample)", 'asymp')
    .option('--allow-different-samples', 'do not require both files to hold the same sample ids')
    .option('--json', 'print one JSON object')
    .action(async (a: string, b: string, flags: { method: string; allowDifferentSamples?: boolean; json?: boolean }) => {
      const report = await ks(a, b, { sameSamples: !flags.allowDifferentSamples, method: flags.method as 'asymp' | 'exact' | 'auto' });
      print(flags.json ? JSON.stringify(ksJson(report)) : ksTable(report));
    });

  analyze
    .command('cka')
    .description('CKA between two features files (rows paired by sample id), per block, on all rows and by the paper\'s bootstrap')
    .argument('<a>', 'features file (e.g. before fine-tuning)')
    .argument('<b>', 'features file of the same samples (e.g. after)')
    .option('--block <n>', 'compare block N only (1–4)', parseNumber('--block', true))
    .option('--all-blocks', 'compare every block both files hold (the default)')
    .option('--tensor <name>', 'compare one named tensor (block1..block4, embedding)')
    .option('--kernel <kind>', 'linear or rbf', 'linear')
    .option('--sigma <x>', 'RBF: absolute σ (the paper: 0.8)', parseNumber('--sigma', false))
    .option('--sigma-median-fraction <f>', 'RBF: σ = f × √(median non-zero squared distance) (default 1)', parseNumber('--sigma-median-fraction', false))
    .option('--sets <n>', 'bootstrap sets (0: none)', parseNumber('--sets', true), 50)
    .option('--set-size <n>', 'rows per set, drawn without replacement', parseNumber('--set-size', true), 1000)
    .option('--seed <n>', 'seed of the sets', parseNumber('--seed', true), 0)
    .option('--max-full-samples <n>', 'RBF on all rows only up to this many rows', parseNumber('--max-full-samples', true), 4096)
    .option('--json', 'print one JSON object')
    .action(
      async (
        a: string,
        b: string,
        flags: {
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
          json?: boolean;
        },
      ) => {
        const chosen = [flags.block !== undefined, flags.allBlocks === true, flags.tensor !== undefined].filter(Boolean).length;
        if (chosen > 1) throw new ImlmError('Expected at most one of --block, --all-blocks, --tensor but received several', 'ERR_INVALID_ARG');
        if (flags.block !== undefined && !(flags.block >= 1 && flags.block <= 4)) {
          throw new ImlmError(`Expected a block 1–4 for --block but received ${flags.block}`, 'ERR_INVALID_ARG');
        }
        const tensors = flags.block !== undefined ? [`block${flags.block}`] : flags.tensor !== undefined ? [flags.tensor] : undefined;
        const report = await cka(a, b, {
          tensors,
          kernel: flags.kernel as 'linear' | 'rbf',
          sigma: flags.sigma,
          sigmaMedianFraction: flags.sigmaMedianFraction,
          sets: flags.sets,
          setSize: flags.setSize,
          seed: flags.seed,
          maxFullSamples: flags.maxFullSamples,
        });
        print(flags.json ? JSON.stringify(ckaJson(report)) : ckaTable(report));
      },
    );
}

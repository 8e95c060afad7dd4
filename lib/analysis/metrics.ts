/**
 * Classification metrics of a predictions file (docs/evaluation.md): ROC AUC per class and macro,
 * F1, accuracy, each with a seeded percentile bootstrap interval and the paper's interval beside
 * it. Classes whose AUC is undefined are listed in `excludedClasses` with the reason.
 */
import { validate, type Schema } from '../config/validate';
import { ImlmError } from '../errors';
import type { SplitName } from '../data/store';
import { native } from '../native';
import type { Tensor } from '../tensor';
import { alignRows, checkLabels, readLabels, readPredictions, type Task } from './files';
import type { NativeEstimate } from './native-types';
import { withDefaults } from '../with-defaults';

export interface MetricsOptions {
  /** Labels from a prepared store folder (its `split`) or a safetensors file with `ids` and `labels`; default: the predictions file's own. */
  labels?: string;
  /** The store split that `labels` names (default 'test'). */
  split?: SplitName;
  /** Bootstrap resamples (default 1000; 0 = no intervals). */
  resamples?: number;
  /** Seed of the resampling (default 0); recorded in the report. */
  seed?: number;
  /** Confidence level of the percentile intervals (default 0.95). */
  confidence?: number;
}

/** 1,000 percentile-bootstrap resamples, seed 0, 95 % intervals (docs/evaluation.md). */
export const kMetricsDefaults = { resamples: 1000, seed: 0, confidence: 0.95 } as const;

/** The options of `metrics` (and, without labels/split, of `metricsOfTensors`), validated before anything reaches native code. */
export const metricsOptionsSchema: Schema = {
  type: 'object',
  properties: {
    labels: { type: 'string', minLength: 1 },
    split: { type: 'string', enum: ['train', 'val', 'test'] },
    resamples: { type: 'integer', minimum: 0, maximum: 1000000 },
    seed: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    confidence: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
  },
  additionalProperties: false,
};

/** A metric's value on all rows with its bootstrap summaries; `value` null with a `reason` when undefined. */
export type Estimate = NativeEstimate;

export interface ClassAuc {
  classIndex: number;
  className: string;
  positives: number;
  negatives: number;
  included: boolean;
  reason: string | null;
  auc: Estimate;
}

export interface MetricsReport {
  task: Task;
  samples: number;
  classes: string[];
  predictions: string | null;
  labels: string | null;
  bootstrap: { resamples: number; seed: number; confidence: number; method: 'percentile' };
  aucMacro: Estimate;
  /** Binary: the positive class only; otherwise every class (one-vs-rest). */
  aucPerClass: ClassAuc[];
  excludedClasses: Array<{ classIndex: number; className: string; reason: string }>;
  /** Macro F1 (the paper's BCH metric). */
  f1: Estimate;
  /** Binary: F1 of the positive class; null value otherwise. */
  f1Positive: Estimate;
  accuracy: Estimate;
}

/**
 * Metrics of probabilities [N, K] against labels (I64 [N] or 0/1 [N, K] for multilabel), rows
 * already paired. Resolves on a worker thread.
 */
export async function metricsOfTensors(
  probabilities: Tensor,
  labels: Tensor,
  task: Task,
  options: Omit<MetricsOptions, 'labels' | 'split'> & { classes?: string[] } = {},
): Promise<MetricsReport> {
  const { classes, ...rest } = options;
  const opts = validate<Required<Pick<MetricsOptions, 'resamples' | 'seed' | 'confidence'>>>(metricsOptionsSchema, withDefaults(kMetricsDefaults, rest), 'options');
  const m = await native().analysisMetrics(probabilities, labels, { task, ...opts });
  const names = classes ?? Array.from({ length: m.classes }, (_, i) => `class ${i}`);
  const aucPerClass = m.aucPerClass.map((c) => ({ ...c, className: names[c.classIndex] ?? `class ${c.classIndex}` }));
  return {
    task,
    samples: m.samples,
    classes: names,
    predictions: null,
    labels: null,
    bootstrap: { ...m.bootstrap, method: 'percentile' },
    aucMacro: m.aucMacro,
    aucPerClass,
    excludedClasses: aucPerClass.filter((c) => !c.included).map((c) => ({ classIndex: c.classIndex, className: c.className, reason: c.reason ?? '' })),
    f1: m.f1,
    f1Positive: m.f1Positive,
    accuracy: m.accuracy,
  };
}

/**
 * Metrics of a predictions file. Labels come from the file itself or, with `labels`, from a
 * store split or labels file, paired with the predictions by sample id (ERR_INVALID_ARG when
 * the ids differ, saying how many each side lacks).
 */
export async function metrics(predictions: string, options: MetricsOptions = {}): Promise<MetricsReport> {
  const opts = validate<MetricsOptions>(metricsOptionsSchema, options, 'options');
  const file = await readPredictions(predictions);
  const owned: Tensor[] = [];
  try {
    let labels = file.labels;
    let labelSource = predictions;
    if (opts.labels !== undefined) {
      const source = await readLabels(opts.labels, opts.split ?? 'test');
      owned.push(source.ids, source.labels);
      const [aligned] = await alignRows(file.ids, source.ids, [source.labels], { a: predictions, b: source.description });
      owned.push(aligned);
      checkLabels(source.description, aligned, file.task, file.ids.shape[0], file.probabilities.shape[1]);
      labels = aligned;
      labelSource = source.description;
    }
    if (!labels) {
      throw new ImlmError(`${predictions} holds no 'labels'; pass labels (--labels STORE or a safetensors file with ids and labels)`, 'ERR_INVALID_ARG');
    }
    const { labels: _l, split: _s, ...bootstrap } = opts;
    const report = await metricsOfTensors(file.probabilities, labels, file.task, { ...bootstrap, classes: file.classes });
    return { ...report, predictions, labels: labelSource };
  } finally {
    for (const t of owned) t.dispose();
    file.dispose();
  }
}

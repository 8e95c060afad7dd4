/**
 * Paired comparison of two models on the same test rows (`analyze compare A B`,
 * docs/evaluation.md "Paired comparisons"): the difference A − B of macro ROC AUC, F1 and accuracy
 * with a paired percentile bootstrap interval — each resample draws the test rows once and
 * scores both models on them. Several files per side (one per seed of an experiment, all on the
 * same test rows) are pooled: the difference is the mean over the pairs and every resample's
 * rows are shared by all of them. A difference is "shown" when its interval excludes 0.
 */
import { validate, type Schema } from '../config/validate';
import { ImlmError } from '../errors';
import { native } from '../native';
import type { Tensor } from '../tensor';
import { withDefaults } from '../with-defaults';
import { alignRows, readPredictions, type PredictionsFile, type Task } from './files';
import { kMetricsDefaults } from './metrics';
import type { NativePairedDifference } from './native-types';

export interface CompareOptions {
  /** Bootstrap resamples (default 1000; 0 = no intervals). */
  resamples?: number;
  /** Seed of the resampling (default 0). */
  seed?: number;
  /** Confidence level of the percentile intervals (default 0.95). */
  confidence?: number;
  /** Return each resample's row multiplicities [resamples, N] (for audits and tests). */
  keepResampleCounts?: boolean;
}

export const compareOptionsSchema: Schema = {
  type: 'object',
  properties: {
    resamples: { type: 'integer', minimum: 0, maximum: 1000000 },
    seed: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    confidence: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
    keepResampleCounts: { type: 'boolean' },
  },
  additionalProperties: false,
};

/** One metric's difference A − B: the mean over pairs, each pair's values, the paired interval. */
export interface PairedDifference extends NativePairedDifference {
  /** The interval excludes 0 (false without an interval). */
  shown: boolean;
}

export interface CompareReport {
  task: Task;
  samples: number;
  classes: string[];
  pairs: number;
  a: string[];
  b: string[];
  bootstrap: { resamples: number; seed: number; confidence: number; method: 'paired percentile' };
  aucMacro: PairedDifference;
  f1: PairedDifference;
  accuracy: PairedDifference;
  /** [resamples, N] int64, rows in the order of the first A file; only with keepResampleCounts. */
  resampleCounts: Tensor | null;
}

const shown = (d: NativePairedDifference): PairedDifference => ({ ...d, shown: d.ci !== null && (d.ci.low > 0 || d.ci.high < 0) });

/**
 * Paired comparison of probabilities already aligned row by row: a[s] and b[s] [N, K] for the
 * same N rows, labels as the task says. Resolves on a worker thread.
 */
export async function compareTensors(
  a: Tensor[],
  b: Tensor[],
  labels: Tensor,
  task: Task,
  options: CompareOptions = {},
): Promise<Omit<CompareReport, 'a' | 'b' | 'classes'>> {
  const o = validate<Required<CompareOptions>>(compareOptionsSchema, withDefaults({ ...kMetricsDefaults, keepResampleCounts: false }, options), 'options');
  const r = await native().analysisCompare(a, b, labels, { task, ...o });
  return {
    task,
    samples: r.samples,
    pairs: r.pairs,
    bootstrap: { ...r.bootstrap, method: 'paired percentile' },
    aucMacro: shown(r.aucMacro),
    f1: shown(r.f1),
    accuracy: shown(r.accuracy),
    resampleCounts: r.resampleCounts as Tensor | null,
  };
}

/**
 * Compares predictions files of model A with those of model B (`a[s]` with `b[s]`; one of each
 * for a plain comparison). Every file's rows are paired with the first A file's by sample id
 * (ERR_INVALID_ARG when the files do not hold the same samples); labels are the first A file's,
 * and every other file's labels must equal them.
 */
export async function compare(a: string | string[], b: string | string[], options: CompareOptions = {}): Promise<CompareReport> {
  const filesA = Array.isArray(a) ? a : [a];
  const filesB = Array.isArray(b) ? b : [b];
  if (filesA.length === 0 || filesA.length !== filesB.length) {
    throw new ImlmError(
      `Expected as many predictions files for model A as for model B (one per seed, paired in order) but received ${filesA.length} and ${filesB.length}`,
      'ERR_INVALID_ARG',
    );
  }
  validate(compareOptionsSchema, options, 'options');
  const opened: PredictionsFile[] = [];
  const owned: Tensor[] = [];
  try {
    for (const file of [...filesA, ...filesB]) opened.push(await readPredictions(file));
    const first = opened[0];
    if (!first.labels) throw new ImlmError(`${first.path} holds no 'labels'; the comparison takes its labels from the first file of model A`, 'ERR_INVALID_ARG');
    const probabilities: Tensor[] = [first.probabilities];
    for (const file of opened.slice(1)) {
      if (file.task !== first.task || file.probabilities.shape[1] !== first.probabilities.shape[1]) {
        throw new ImlmError(
          `Expected every predictions file to be a ${first.task} task with ${first.probabilities.shape[1]} columns like ${first.path} but ${file.path} is ${file.task} with ${file.probabilities.shape[1]}`,
          'ERR_INVALID_ARG',
        );
      }
      const tensors = file.labels ? [file.probabilities, file.labels] : [file.probabilities];
      const aligned = await alignRows(first.ids, file.ids, tensors, { a: first.path, b: file.path });
      owned.push(...aligned);
      if (aligned[1] && !sameValues(aligned[1], first.labels)) {
        throw new ImlmError(`${file.path} labels the samples differently from ${first.path}; compare predictions made on the same test rows`, 'ERR_INVALID_ARG');
      }
      probabilities.push(aligned[0]);
    }
    const n = filesA.length;
    const report = await compareTensors(probabilities.slice(0, n), probabilities.slice(n), first.labels, first.task, options);
    return { ...report, classes: first.classes, a: filesA, b: filesB };
  } finally {
    for (const t of owned) t.dispose();
    for (const f of opened) f.dispose();
  }
}

function sameValues(x: Tensor, y: Tensor): boolean {
  const [u, v] = [x.toTypedArray(), y.toTypedArray()];
  if (u.length !== v.length) return false;
  for (let i = 0; i < u.length; ++i) if (u[i] !== v[i]) return false;
  return true;
}

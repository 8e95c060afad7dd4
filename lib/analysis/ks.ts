/**
 * Kolmogorov–Smirnov distance between the output probabilities of two models on the same
 * samples (docs/method.md, metrics; docs/evaluation.md): binary on the positive class, multiclass and
 * multilabel per class and their mean. Statistic and p-value as scipy.stats.ks_2samp with the
 * same method ('asymp' by default; 'exact'; or 'auto', SciPy's default).
 */
import { validate, type Schema } from '../config/validate';
import { ImlmError } from '../errors';
import { native } from '../native';
import type { Tensor } from '../tensor';
import { alignRows, readBoth, readPredictions, type Task } from './files';
import type { NativeKsColumn } from './native-types';

export interface KsOptions {
  /** Require both files to hold the same sample ids (default true: the same test set). */
  sameSamples?: boolean;
  /** p-value method, as scipy.stats.ks_2samp's: 'asymp' (default), 'exact', or 'auto' (exact when both samples ≤ 10,000). */
  method?: 'asymp' | 'exact' | 'auto';
}

/** The options of `ks` (its `method` also of `ksOfTensors`), validated before anything reaches native code. */
/** SciPy's asymptotic p-value unless asked otherwise (the reference's call). */
export const kKsDefaults = { method: 'asymp' } as const;

export const ksOptionsSchema: Schema = {
  type: 'object',
  properties: { sameSamples: { type: 'boolean' }, method: { type: 'string', enum: ['asymp', 'exact', 'auto'] } },
  additionalProperties: false,
};

export interface KsClass extends NativeKsColumn {
  classIndex: number;
  className: string;
}

export interface KsReport {
  task: Task;
  a: string;
  b: string;
  /** The method asked for; each class's entry says which one gave its p-value. */
  method: 'asymp' | 'exact' | 'auto';
  /** Binary: the positive class's; otherwise the mean over classes of the per-class statistics. */
  statistic: number;
  /** Binary: the positive class's p-value; otherwise the mean of the per-class p-values (a summary, not a p-value of one test). */
  pvalue: number;
  perClass: KsClass[];
}

/** One KS test per column of two tensors [N1, K] and [N2, K]; `probabilities` (default true) refuses values outside [0, 1]. */
export async function ksOfTensors(
  a: Tensor,
  b: Tensor,
  options: { probabilities?: boolean; method?: 'asymp' | 'exact' | 'auto' } = {},
): Promise<NativeKsColumn[]> {
  const { method } = validate<Required<Pick<KsOptions, 'method'>>>(ksOptionsSchema, { method: options.method ?? kKsDefaults.method }, 'options');
  return (await native().analysisKs(a, b, { probabilities: options.probabilities ?? true, method })).columns;
}

function mean(values: number[]): number {
  return values.reduce((s, v) => s + v, 0) / values.length;
}

/** KS between two predictions files of the same task and classes. */
export async function ks(a: string, b: string, options: KsOptions = {}): Promise<KsReport> {
  const opts = validate<KsOptions>(ksOptionsSchema, options, 'options');
  const [fa, fb] = await readBoth(a, b, readPredictions);
  try {
    if (fa.task !== fb.task || fa.classes.join('\u0000') !== fb.classes.join('\u0000')) {
      throw new ImlmError(
        `the two predictions files answer different tasks: ${a} is ${fa.task} over [${fa.classes.join(', ')}], ${b} is ${fb.task} over [${fb.classes.join(', ')}]`,
        'ERR_INVALID_ARG',
      );
    }
    if (opts.sameSamples !== false) {
      // Only the check matters (the test is on distributions); the aligned copy is freed at once.
      const [aligned] = await alignRows(fa.ids, fb.ids, [fb.ids], { a, b });
      aligned.dispose();
    }
    const method = opts.method ?? kKsDefaults.method;
    const columns = await ksOfTensors(fa.probabilities, fb.probabilities, { method });
    const classIndices = fa.task === 'binary' ? [1] : columns.map((_, i) => i);
    const perClass = classIndices.map((c) => ({ ...columns[c], classIndex: c, className: fa.classes[c] }));
    return {
      task: fa.task,
      a,
      b,
      method,
      statistic: mean(perClass.map((c) => c.statistic)),
      pvalue: mean(perClass.map((c) => c.pvalue)),
      perClass,
    };
  } finally {
    fa.dispose();
    fb.dispose();
  }
}

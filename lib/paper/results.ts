/**
 * results.json of `imlm-native paper`: every finished cell of the protocol (pre-training, linear
 * probe, fine-tuning per fraction, layer-wise probe, CKA, KS), so an interrupted run resumes
 * where it stopped and the report can be rendered again from it alone. Metric values are
 * fractions (0–1); reports print them ×100 as the paper does.
 */
import type { PaperMethod } from './paper-numbers';

export interface MetricWithCi {
  value: number;
  /** Bootstrap 95% percentile interval, when computed. */
  ci?: [number, number];
}

export interface RocCurve {
  fpr: number[];
  tpr: number[];
  /** Which scores: the positive class (binary) or the macro over classes (multi-). */
  of: string;
}

export interface PaperResults {
  format: 'imlm-native/paper-results';
  formatVersion: 1;
  store: string;
  sourceFormat: string;
  task: 'multiclass' | 'binary' | 'multilabel';
  classes: string[];
  /** The headline metric and how it is printed ('AUC', 'F1', 'accuracy'). */
  metric: { key: string; label: string };
  methods: PaperMethod[];
  fractions: number[];
  settings: Record<string, unknown>;
  pretrain: Partial<Record<PaperMethod, { checkpoint: string; steps: number; seconds: number; loss: Array<{ step: number; loss: number }> }>>;
  linear: Partial<Record<PaperMethod, MetricWithCi>>;
  /** Per method, per fraction (as a string key, e.g. '0.01'). */
  finetune: Partial<Record<PaperMethod, Record<string, MetricWithCi & { predictions?: string }>>>;
  /** Per method, blocks 1–4. */
  probe: Partial<Record<PaperMethod, MetricWithCi[]>>;
  /** CKA between the encoder's features before and after fine-tuning at `fraction`, per block. */
  cka: Partial<Record<PaperMethod, { fraction: number; kernel: string; blocks: Array<{ mean: number; std: number }> }>>;
  /** KS distance of each fraction's test probabilities to the 100% model's. */
  ks: Partial<Record<PaperMethod, Record<string, { statistic: number; pvalue: number }>>>;
  roc: Partial<Record<PaperMethod, Record<string, RocCurve>>>;
  /** Seconds per finished cell, keyed like 'pretrain/mse'. */
  timings: Record<string, number>;
}

export function emptyResults(base: Pick<PaperResults, 'store' | 'sourceFormat' | 'task' | 'classes' | 'metric' | 'methods' | 'fractions' | 'settings'>): PaperResults {
  return { format: 'imlm-native/paper-results', formatVersion: 1, ...base, pretrain: {}, linear: {}, finetune: {}, probe: {}, cka: {}, ks: {}, roc: {}, timings: {} };
}

/** The key a fraction is stored under: 0.01 → '0.01', 1 → '1'. */
export const fractionKey = (f: number): string => String(f);

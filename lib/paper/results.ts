/**
 * results.json of `imlm-native paper`: every finished cell of the protocol, per seed
 * (pre-training, layer-wise probe, linear probe and fine-tuning per label fraction, CKA, KS), the
 * paired comparisons between methods pooled over the seeds, the budget, the estimate made before
 * starting and the seconds of every cell — so an interrupted run resumes where it stopped and the
 * report can be rendered again from it alone. Metric values are fractions (0–1); reports print
 * them ×100 as the paper does.
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

/** A test metric of one model with the predictions file it came from (paired comparisons read it). */
export type ScoredCell = MetricWithCi & { predictions?: string; accuracy?: number };

/** Everything measured with one seed (initialisation, augmentation, data order, label-fraction draw). */
export interface SeedResults {
  seed: number;
  pretrain: Partial<Record<PaperMethod, { checkpoint: string; steps: number; seconds: number; loss: Array<{ step: number; loss: number }> }>>;
  /** Linear probe on block 4 of the frozen encoder, per method, per fraction (key as fractionKey). */
  linear: Partial<Record<PaperMethod, Record<string, ScoredCell>>>;
  /** Full fine-tuning, per method, per fraction. */
  finetune: Partial<Record<PaperMethod, Record<string, ScoredCell>>>;
  /** Layer-wise probe at 100% of the labels, per method, blocks 1–4. */
  probe: Partial<Record<PaperMethod, MetricWithCi[]>>;
  /** CKA between the encoder's features before and after fine-tuning at `fraction`, per block. */
  cka: Partial<Record<PaperMethod, { fraction: number; kernel: string; blocks: Array<{ mean: number; std: number }> }>>;
  /** KS distance of each fraction's test probabilities to the 100% model's. */
  ks: Partial<Record<PaperMethod, Record<string, { statistic: number; pvalue: number }>>>;
  roc: Partial<Record<PaperMethod, Record<string, RocCurve>>>;
}

/** A difference A − B of one metric, mean over the seeds, with its paired bootstrap interval. */
export interface PairedValue {
  difference: number;
  ci: [number, number] | null;
  /** The interval excludes 0. */
  shown: boolean;
  /** Each seed's difference on all test rows. */
  perSeed: number[];
}

/** One comparison of the paper's claims: method A against B, evaluated by `evaluation`, at a fraction. */
export interface PairedComparisonResult {
  evaluation: 'linear' | 'finetune';
  a: PaperMethod;
  b: PaperMethod;
  fraction: number;
  /** The headline metric's difference, and accuracy's (where the task has it). */
  headline: PairedValue;
  accuracy: PairedValue | null;
  resamples: number;
}

/** The time the run was expected to take, from a few timed steps before it started. */
export interface PaperEstimate {
  seconds: number;
  pretrainSecondsPerStep: number | null;
  finetuneSecondsPerStep: number;
  finetuneFixedSeconds: number;
  basis: string;
}

export interface PaperResults {
  format: 'imlm-native/paper-results';
  formatVersion: 2;
  store: string;
  sourceFormat: string;
  task: 'multiclass' | 'binary' | 'multilabel';
  classes: string[];
  /** The headline metric and how it is printed ('AUC', 'F1', 'accuracy'). */
  metric: { key: string; label: string };
  methods: PaperMethod[];
  fractions: number[];
  /** The budget's name (small, medium, full) or null when every setting was given by hand. */
  budget: string | null;
  settings: Record<string, unknown>;
  /** The seeds, in the order they ran; runs[i] holds seeds[i]'s cells. */
  seeds: number[];
  runs: SeedResults[];
  paired: PairedComparisonResult[];
  /** The seeds `paired` pools (it is computed again when seeds are added). */
  pairedSeeds: number[];
  estimate: PaperEstimate | null;
  /** Seconds per finished cell, keyed like 'seed-0/pretrain/mse'. */
  timings: Record<string, number>;
}

export function emptySeedResults(seed: number): SeedResults {
  return { seed, pretrain: {}, linear: {}, finetune: {}, probe: {}, cka: {}, ks: {}, roc: {} };
}

export function emptyResults(base: Pick<PaperResults, 'store' | 'sourceFormat' | 'task' | 'classes' | 'metric' | 'methods' | 'fractions' | 'settings' | 'budget' | 'seeds'>): PaperResults {
  return {
    format: 'imlm-native/paper-results',
    formatVersion: 2,
    ...base,
    runs: base.seeds.map(emptySeedResults),
    paired: [],
    pairedSeeds: [],
    estimate: null,
    timings: {},
  };
}

/** The key a fraction is stored under: 0.01 → '0.01', 1 → '1'. */
export const fractionKey = (f: number): string => String(f);

/** Mean, sample standard deviation (n − 1; 0 for one value) and the values themselves. */
export interface Spread {
  mean: number;
  std: number;
  values: number[];
}

export function spread(values: number[]): Spread | null {
  if (values.length === 0) return null;
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const std = values.length > 1 ? Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - 1)) : 0;
  return { mean, std, values };
}

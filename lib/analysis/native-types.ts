/**
 * What the addon's analysis functions take and return: one row each of the table in
 * native/bridge/analysis_binding.cc. lib/native.ts's NativeBinding extends NativeAnalysis, so an
 * analysis added there is typed here and nowhere else.
 */
import type { NativeTensor } from '../native';
import type { Task } from './files';

/** One metric's value and bootstrap summaries (native/core/analysis/classification.h). */
export interface NativeEstimate {
  /** null when undefined (reason says why). */
  value: number | null;
  reason: string | null;
  /** Percentile bootstrap interval; null without resamples. */
  ci: { low: number; high: number; confidence: number } | null;
  /** The reference's mean ± 1.96·std/√B over the B resampled values (for comparison only). */
  paperInterval: { mean: number; low: number; high: number; values: number } | null;
  resamplesUsed: number;
}

export interface NativeClassificationMetrics {
  task: Task;
  samples: number;
  classes: number;
  bootstrap: { resamples: number; seed: number; confidence: number };
  aucPerClass: Array<{ classIndex: number; positives: number; negatives: number; included: boolean; reason: string | null; auc: NativeEstimate }>;
  aucMacro: NativeEstimate;
  f1: NativeEstimate;
  f1Positive: NativeEstimate;
  accuracy: NativeEstimate;
}

export interface NativeKsColumn {
  statistic: number;
  pvalue: number;
  n1: number;
  n2: number;
  effectiveN: number;
  /** The method that gave the p-value ('auto' resolves to one of the two). */
  method: 'asymp' | 'exact';
}

export interface NativeCkaResult {
  full: { cka: number; sigmaX: number | null; sigmaY: number | null } | null;
  bootstrap: { mean: number; std: number; sets: number; setSize: number; seed: number; values: number[] } | null;
}

export interface NativeRocCurve {
  fpr: Float64Array;
  tpr: Float64Array;
  of: string;
}

/** One metric's paired difference A − B (native/core/analysis/paired_bootstrap.h). */
export interface NativePairedDifference {
  difference: number | null;
  reason: string | null;
  a: Array<number | null>;
  b: Array<number | null>;
  ci: { low: number; high: number; confidence: number } | null;
  resamplesUsed: number;
}

export interface NativePairedComparison {
  task: string;
  samples: number;
  classes: number;
  pairs: number;
  bootstrap: { resamples: number; seed: number; confidence: number };
  aucMacro: NativePairedDifference;
  f1: NativePairedDifference;
  accuracy: NativePairedDifference;
  resampleCounts: NativeTensor | null;
}

/** The addon's analysis functions; each resolves on a worker thread. */
export interface NativeAnalysis {
  analysisMetrics(
    probabilities: NativeTensor,
    labels: NativeTensor,
    options: { task: string; resamples: number; seed: number; confidence: number },
  ): Promise<NativeClassificationMetrics>;
  analysisKs(a: NativeTensor, b: NativeTensor, options: { probabilities: boolean; method: 'asymp' | 'exact' | 'auto' }): Promise<{ columns: NativeKsColumn[] }>;
  analysisCka(
    x: NativeTensor,
    y: NativeTensor,
    /** RBF: sigma or sigmaMedianFraction (one of the two). */
    options: { kernel: 'linear' | 'rbf'; sigma?: number; sigmaMedianFraction?: number; full: boolean; sets: number; setSize: number; seed: number },
  ): Promise<NativeCkaResult>;
  analysisAlign(idsA: NativeTensor, idsB: NativeTensor, tensorsB: NativeTensor[]): Promise<NativeTensor[]>;
  analysisRocCurve(probabilities: NativeTensor, labels: NativeTensor, options: { task: string; maxPoints: number }): Promise<NativeRocCurve>;
  analysisKnn(
    bank: NativeTensor,
    bankLabels: NativeTensor,
    query: NativeTensor,
    queryLabels: NativeTensor,
    options: { k: number; temperature: number; classes: number; queryBatch: number },
  ): Promise<{ top1: number; top5: number; queries: number }>;
  analysisCompare(
    a: NativeTensor[],
    b: NativeTensor[],
    labels: NativeTensor,
    options: { task: string; resamples: number; seed: number; confidence: number; keepResampleCounts: boolean },
  ): Promise<NativePairedComparison>;
}

/**
 * Weighted kNN classification of a representation (native/core/analysis/knn.h): solo-learn's
 * online monitor of self-supervised pre-training — cosine similarity, the k = 20 nearest bank
 * rows vote with weight exp(similarity / 0.07) — on tensors whose rows are features and labels.
 */
import { validate, type Schema } from '../config/validate';
import { native } from '../native';
import type { Tensor } from '../tensor';
import { withDefaults } from '../with-defaults';

export interface KnnOptions {
  /** Neighbours (default 20). */
  k?: number;
  /** Temperature of the vote weights (default 0.07). */
  temperature?: number;
  /** Number of classes; labels are 0..classes−1. */
  classes: number;
  /** Queries compared with the bank at a time (default 256). */
  queryBatch?: number;
}

export interface KnnResult {
  top1: number;
  top5: number;
  queries: number;
}

/** solo-learn's defaults. */
export const kKnnDefaults = { k: 20, temperature: 0.07, queryBatch: 256 } as const;

export const knnOptionsSchema: Schema = {
  type: 'object',
  additionalProperties: false,
  required: ['classes'],
  properties: {
    k: { type: 'integer', minimum: 1 },
    temperature: { type: 'number', exclusiveMinimum: 0 },
    classes: { type: 'integer', minimum: 1 },
    queryBatch: { type: 'integer', minimum: 1 },
  },
};

/** bank F32 [N, F] with labels I64 [N]; query F32 [M, F] with labels I64 [M]. Resolves on a worker thread. */
export function knnClassify(bank: Tensor, bankLabels: Tensor, query: Tensor, queryLabels: Tensor, options: KnnOptions): Promise<KnnResult> {
  const o = validate<Required<KnnOptions>>(knnOptionsSchema, withDefaults(kKnnDefaults, options), 'options');
  return native().analysisKnn(bank, bankLabels, query, queryLabels, o);
}

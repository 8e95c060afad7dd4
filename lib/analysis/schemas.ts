/** JSON Schemas of the analysis functions' options (validated before anything reaches native code). */
import type { Schema } from '../config/validate';

const seed: Schema = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER };

export const metricsOptionsSchema: Schema = {
  type: 'object',
  properties: {
    labels: { type: 'string', minLength: 1 },
    split: { type: 'string', enum: ['train', 'val', 'test'] },
    resamples: { type: 'integer', minimum: 0, maximum: 1000000 },
    seed,
    confidence: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
  },
  additionalProperties: false,
};

export const ksOptionsSchema: Schema = {
  type: 'object',
  properties: { sameSamples: { type: 'boolean' }, method: { type: 'string', enum: ['asymp', 'exact', 'auto'] } },
  additionalProperties: false,
};

export const ckaOptionsSchema: Schema = {
  type: 'object',
  properties: {
    tensors: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
    kernel: { type: 'string', enum: ['linear', 'rbf'] },
    sigma: { type: 'number', exclusiveMinimum: 0 },
    sigmaMedianFraction: { type: 'number', exclusiveMinimum: 0 },
    sets: { type: 'integer', minimum: 0, maximum: 100000 },
    setSize: { type: 'integer', minimum: 2 },
    seed,
    maxFullSamples: { type: 'integer', minimum: 0 },
  },
  additionalProperties: false,
};

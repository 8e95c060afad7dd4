/**
 * JSON Schemas of a store's files (docs/formats.md, "Prepared data set"): manifest.json and
 * samples.json. Read through lib/data/json-file.ts, so a damaged file is ERR_FORMAT naming the
 * file and the field. Unknown top-level fields are allowed (a later version may add some);
 * everything the code reads is checked.
 */
import type { Schema } from '../config/validate';

const count: Schema = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER };
const text: Schema = { type: 'string' };
/** A file inside the store folder: a plain name, never a path (so `../x` cannot be reached). */
const storeFile: Schema = { type: 'string', pattern: '^(?!\\.\\.?$)[^/\\\\\\u0000]+$' };
const split: Schema = {
  type: 'object',
  required: ['count', 'shard'],
  properties: { count, shard: { ...storeFile, pattern: '^(?!\\.\\.?\\.safetensors$)[^/\\\\\\u0000]+\\.safetensors$' } },
};

export const manifestSchema: Schema = {
  type: 'object',
  required: ['format', 'formatVersion', 'sourceFormat', 'source', 'task', 'classes', 'channels', 'imageSize', 'splits', 'skipped'],
  properties: {
    format: { const: 'imlm-native/dataset' },
    formatVersion: { const: 1 },
    sourceFormat: text,
    source: text,
    task: { enum: ['multiclass', 'binary', 'multilabel', 'none'] },
    classes: { type: 'array', items: text, uniqueItems: true, maxItems: 65536 },
    channels: { type: 'integer', minimum: 1, maximum: 4 },
    imageSize: { type: 'array', items: { type: 'integer', minimum: 1, maximum: 65536 }, minItems: 2, maxItems: 2 },
    splits: {
      type: 'object',
      propertyNames: { enum: ['train', 'val', 'test'] },
      properties: { train: split, val: split, test: split },
    },
    splitMethod: text,
    seed: count,
    preparation: { type: 'object' },
    labelFractions: {
      type: 'object',
      required: ['fractions'],
      properties: {
        seed: count,
        stratifiedBy: text,
        nested: { type: 'boolean' },
        fractions: {
          type: 'object',
          // A fraction in (0, 1] written as JavaScript's String(number) does: 0.01, 0.06, 1.
          propertyNames: { pattern: '^(1|0\\.[0-9]*[1-9][0-9]*|[0-9]\\.?[0-9]*e-[0-9]+)$' },
          additionalProperties: {
            type: 'object',
            required: ['count'],
            properties: { count, ids: { type: 'array', items: count } },
          },
        },
      },
    },
    skipped: {
      type: 'array',
      items: { type: 'object', required: ['file', 'reason'], properties: { file: text, reason: text } },
    },
    samples: { type: 'object', required: ['file', 'count'], properties: { file: storeFile, count } },
    excluded: {
      type: 'object',
      required: ['count'],
      properties: { count, reason: text, examples: { type: 'array', items: text } },
    },
    contentHash: text,
    created: text,
    imlmNativeVersion: text,
  },
};

export const samplesSchema: Schema = {
  type: 'object',
  required: ['format', 'files', 'patients'],
  properties: {
    format: { const: 'imlm-native/dataset-samples' },
    files: { type: 'array', items: text },
    patients: { type: 'array', items: text },
  },
};

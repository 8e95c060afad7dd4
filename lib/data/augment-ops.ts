/**
 * The augmentation ops on the TypeScript side of the native op table
 * (native/core/augment/ops.cc). The native table is the one source of each field's range and
 * of the draws and kernels; the policy schema is built from it (native augmentOps()). This list
 * gives the types and the 'none' policy: each op's fields with the value that leaves the op off.
 * test/data/augment-ops.test.ts checks that it names the same ops and fields, of the same types,
 * in the same order as the native table.
 */
import type { Schema } from '../config/validate';
import { native, type NativeAugmentOp } from '../native';

export const AUGMENT_OPS = [
  { name: 'crop', fields: { crop: false, scaleMin: 1, scaleMax: 1, ratioMin: 1, ratioMax: 1 } },
  { name: 'hflip', fields: { hflipP: 0 } },
  { name: 'vflip', fields: { vflipP: 0 } },
  { name: 'rotation', fields: { rotationDegrees: 0, nearest: false } },
  { name: 'jitter', fields: { jitterP: 0, brightness: 0, contrast: 0, saturation: 0, hue: 0 } },
  { name: 'grayscale', fields: { grayscaleP: 0 } },
  { name: 'blur', fields: { blurP: 0, blurSigmaMin: 0.1, blurSigmaMax: 2 } },
] as const;

type OpFields = (typeof AUGMENT_OPS)[number]['fields'];
type KeysOf<T> = T extends unknown ? keyof T : never;
type ValueOf<T, K extends PropertyKey> = T extends Record<K, infer V> ? V : never;
type FieldName = KeysOf<OpFields>;
type FieldValue<K extends FieldName> = ValueOf<OpFields, K>;

/** An augmentation policy: every field of every op (lib/data/policies.ts has the named ones). */
export type AugmentPolicy = { -readonly [K in FieldName]: FieldValue<K> extends boolean ? boolean : number };

/** Every field at the value that leaves its op off: the policy 'none'. */
export const offPolicy = Object.assign({}, ...AUGMENT_OPS.map((op) => op.fields)) as AugmentPolicy;

/** A policy file's fields, or a policy object's: `base` (a named policy to start from) plus fields to change. */
export type PolicyFields = Partial<AugmentPolicy> & { base?: string };

interface PolicyRules {
  /** JSON Schema of a policy file or object: `base` plus each op's fields with their ranges. */
  schema: Schema;
  /** [lower, upper] field pairs: a range's lower end may not exceed its upper end. */
  ordered: Array<[keyof AugmentPolicy, keyof AugmentPolicy]>;
}

let rules: PolicyRules | undefined;

function fieldSchema(field: NativeAugmentOp['fields'][number]): Schema {
  const { name: _name, atMost: _atMost, ...schema } = field;
  return schema;
}

/** The schema and range pairs, built once from the native table (the addon loads on first use). */
export function policyRules(): PolicyRules {
  if (rules) return rules;
  const fields = native()
    .augmentOps()
    .flatMap((op) => op.fields);
  rules = {
    schema: {
      type: 'object',
      additionalProperties: false,
      properties: { base: { type: 'string' }, ...Object.fromEntries(fields.map((f) => [f.name, fieldSchema(f)])) },
    },
    ordered: fields.filter((f) => f.atMost !== undefined).map((f) => [f.name as keyof AugmentPolicy, f.atMost as keyof AugmentPolicy]),
  };
  return rules;
}

/**
 * Field names and types only, without the ranges (which need the addon): for files that record
 * a policy object, such as a fine-tuning run's config.json; resolvePolicy checks the rest.
 */
export const policyShapeSchema: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: { base: { type: 'string' }, ...Object.fromEntries(Object.entries(offPolicy).map(([name, off]) => [name, { type: typeof off }])) },
};

/**
 * Custom augmentation policies from a JSON or YAML file (`--augment my-policy.yaml`):
 *
 *   base: kaku2021-bch        # optional: a named policy to start from (default 'none')
 *   rotationDegrees: 10
 *   blurP: 0
 *
 * Every field of AugmentPolicy may be set; the file is validated (ranges, known fields) so a
 * typo fails before training starts rather than silently augmenting with defaults.
 */
import { readFileSync } from 'fs';
import { load as loadYaml } from 'js-yaml';
import { validate, type Schema } from '../config/validate';
import { ImlmError } from '../errors';
import type { AugmentPolicy } from './policies';

const probability = { type: 'number', minimum: 0, maximum: 1 };
const nonNegative = { type: 'number', minimum: 0 };

export const policyFileSchema: Schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    base: { type: 'string' },
    crop: { type: 'boolean' },
    scaleMin: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
    scaleMax: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
    ratioMin: { type: 'number', exclusiveMinimum: 0 },
    ratioMax: { type: 'number', exclusiveMinimum: 0 },
    hflipP: probability,
    vflipP: probability,
    rotationDegrees: { type: 'number', minimum: 0, maximum: 180 },
    nearest: { type: 'boolean' },
    jitterP: probability,
    brightness: nonNegative,
    contrast: nonNegative,
    saturation: nonNegative,
    hue: { type: 'number', minimum: 0, maximum: 0.5 },
    grayscaleP: probability,
    blurP: probability,
    blurSigmaMin: { type: 'number', exclusiveMinimum: 0 },
    blurSigmaMax: { type: 'number', exclusiveMinimum: 0 },
  },
};

export type PolicyFile = Partial<AugmentPolicy> & { base?: string };

/** True when `spec` names a policy file rather than a built-in policy. */
export function isPolicyFile(spec: string): boolean {
  return /\.(json|ya?ml)$/i.test(spec);
}

/** Reads and validates a policy file; the caller resolves `base`. */
export function readPolicyFile(file: string): PolicyFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ImlmError(`Cannot read the augmentation policy file ${file}: ${(e as Error).message}`, 'ERR_IO');
  }
  let parsed: unknown;
  try {
    parsed = /\.json$/i.test(file) ? JSON.parse(text) : loadYaml(text);
  } catch (e) {
    throw new ImlmError(`${file} is not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${(e as Error).message}`, 'ERR_FORMAT');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ImlmError(`Expected ${file} to hold a mapping of policy fields (e.g. \`base: mocov2\`) but found ${JSON.stringify(parsed)}`, 'ERR_FORMAT');
  }
  return validate<PolicyFile>(policyFileSchema, parsed, file);
}

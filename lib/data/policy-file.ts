/**
 * Custom augmentation policies from a JSON or YAML file (`--augment my-policy.yaml`):
 *
 *   base: kaku2021-bch        # optional: a named policy to start from (default 'none')
 *   rotationDegrees: 10
 *   blurP: 0
 *
 * Every field of AugmentPolicy may be set; the file is validated (ranges, known fields) against
 * the schema built from the native op table (lib/data/augment-ops.ts), the one policy objects
 * are checked with too, so a typo fails before training starts rather than silently augmenting
 * with defaults.
 */
import { JSON_SCHEMA, load as loadYaml } from 'js-yaml';
import { ImlmError } from '../errors';
import { policyRules, type PolicyFields } from './augment-ops';
import { checkJson, readRegularFileSync } from './json-file';

/** True when `spec` names a policy file rather than a built-in policy. */
export function isPolicyFile(spec: string): boolean {
  return /\.(json|ya?ml)$/i.test(spec);
}

/**
 * Reads and validates a policy file (a regular file only: a FIFO is refused, never read); the
 * caller resolves `base`. A bad file is ERR_FORMAT naming the file and the field.
 */
export function readPolicyFile(file: string): PolicyFields {
  const text = readRegularFileSync(file, 'an augmentation policy file (.json, .yaml)').toString('utf8');
  const json = /\.json$/i.test(file);
  let parsed: unknown;
  try {
    // JSON_SCHEMA: plain data only (no YAML dates or other tags), as JSON would give.
    parsed = json ? JSON.parse(text) : loadYaml(text, { schema: JSON_SCHEMA, filename: file });
  } catch (e) {
    throw new ImlmError(`${file} is not valid ${json ? 'JSON' : 'YAML'}: ${(e as Error).message}`, 'ERR_FORMAT');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ImlmError(`Expected ${file} to hold a mapping of policy fields (e.g. \`base: mocov2\`) but found ${JSON.stringify(parsed)}; fix the policy file`, 'ERR_FORMAT');
  }
  return checkJson<PolicyFields>(parsed, policyRules().schema, file, 'fix the policy file (its fields are listed in docs/formats.md)');
}

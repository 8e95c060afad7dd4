/**
 * Option validation with one message format ("Expected … for … but received …"), on JSON
 * Schemas compiled once by Ajv. Every public entry point validates its options here before
 * anything reaches the native layer; the native layer still type-checks at its boundary.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { ImlmError } from '../errors';
import { valueAt } from '../json-pointer';

const ajv = new Ajv({ allErrors: false, useDefaults: true, strict: true });
const compiled = new WeakMap<object, ValidateFunction>();

/** JSON Schema subset used by imlm-native's option schemas. */
export type Schema = Record<string, unknown>;

function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'bigint') return `${value}n`;
  try {
    const text = JSON.stringify(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return String(value);
  }
}

function expectation(error: ErrorObject): string {
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'type':
      return `a value of type ${p.type}`;
    case 'enum':
      return `one of ${(p.allowedValues as unknown[]).map(describeValue).join(', ')}`;
    case 'minimum':
    case 'exclusiveMinimum':
    case 'maximum':
    case 'exclusiveMaximum':
      return `a number ${p.comparison} ${p.limit}`;
    case 'pattern':
      return `a string matching ${p.pattern}`;
    case 'additionalProperties':
      return `no option '${p.additionalProperty}' (known options are listed in docs/api.md)`;
    case 'required':
      return `option '${p.missingProperty}' to be given`;
    case 'minItems':
      return `at least ${p.limit} item(s)`;
    case 'multipleOf':
      return `a multiple of ${p.multipleOf}`;
    default:
      return error.message ?? 'a valid value';
  }
}

/**
 * Returns `value` (with schema defaults filled in) or throws ERR_INVALID_ARG naming the first
 * offending field: "Expected a number >= 1 for options.batchSize but received 0".
 */
export function validate<T>(schema: Schema, value: unknown, what: string): T {
  let check = compiled.get(schema);
  if (!check) {
    check = ajv.compile(schema);
    compiled.set(schema, check);
  }
  const copy = value === undefined ? {} : structuredClone(value);
  if (check(copy)) return copy as T;
  const error = check.errors![0];
  const field = `${what}${error.instancePath.replace(/\//g, '.')}`;
  const received =
    error.keyword === 'required' || error.keyword === 'additionalProperties'
      ? describeValue(Object.keys((valueAt(copy, error.instancePath) as object) ?? {}))
      : describeValue(valueAt(copy, error.instancePath));
  throw new ImlmError(
    `Expected ${expectation(error)} for ${field} but received ${received}`,
    'ERR_INVALID_ARG',
  );
}

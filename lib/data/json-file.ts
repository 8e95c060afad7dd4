/**
 * Reading the files the data, evaluation and analysis layers depend on, so that no file — however
 * damaged or crafted — ends in an uncoded error (a TypeError deep in the code that uses it):
 *
 *   - `readRegularFile` refuses anything that is not a regular file (a FIFO, socket, device or
 *     folder) before reading it, and opens with O_NONBLOCK, so a FIFO can never block the process
 *     (it is checked again on the open handle, which closes the gap between stat and open);
 *   - `parseJsonFile` parses, refuses `__proto__` keys (they cannot be plain-object keys) and
 *     nesting deeper than 64, and validates against a JSON Schema (Ajv, as lib/config/validate.ts
 *     does for options). A bad file is ERR_FORMAT naming the file, the field as a JSON pointer,
 *     what was expected and what was found.
 *
 * Semantic checks a schema cannot express (counts that must agree, unique ids) use `formatError`
 * so every message has the same shape.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { constants, fstatSync, openSync, closeSync, readFileSync, promises as fs, type Stats } from 'fs';
import { ImlmError } from '../errors';
import { valueAt } from '../json-pointer';
import type { Schema } from '../config/validate';

// No defaults and no coercion: a file is checked as it is, never changed.
const ajv = new Ajv({ allErrors: false, strict: true });
const compiled = new WeakMap<object, ValidateFunction>();

/** The deepest nesting any file of these layers needs is about 5; 64 bounds a crafted one. */
const kMaxDepth = 64;

/** What a non-regular file is, in words. */
export function fileKind(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

function notRegular(file: string, st: Stats, what: string): ImlmError {
  return new ImlmError(`${file} is ${fileKind(st)}, not a regular file (expected ${what}); pass a regular file`, 'ERR_IO');
}

/**
 * The bytes of `file` (a regular file, symlinks followed); ERR_IO naming the file when it is
 * missing, unreadable or not a regular file. Never blocks on a FIFO.
 */
export async function readRegularFile(file: string, what = 'a regular file'): Promise<Buffer> {
  let st: Stats;
  try {
    st = await fs.stat(file);
  } catch (e) {
    throw new ImlmError(`cannot read ${file}: ${(e as Error).message} (expected ${what})`, 'ERR_IO', { cause: e });
  }
  if (!st.isFile()) throw notRegular(file, st, what);
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new ImlmError(`cannot read ${file}: ${(e as Error).message} (expected ${what})`, 'ERR_IO', { cause: e });
  }
  try {
    const again = await handle.stat();
    if (!again.isFile()) throw notRegular(file, again, what);
    return await handle.readFile();
  } catch (e) {
    if (e instanceof ImlmError) throw e;
    throw new ImlmError(`cannot read ${file}: ${(e as Error).message} (expected ${what})`, 'ERR_IO', { cause: e });
  } finally {
    await handle.close();
  }
}

/** The synchronous form of readRegularFile (for callers that are synchronous). */
export function readRegularFileSync(file: string, what = 'a regular file'): Buffer {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new ImlmError(`cannot read ${file}: ${(e as Error).message} (expected ${what})`, 'ERR_IO', { cause: e });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw notRegular(file, st, what);
    return readFileSync(fd);
  } catch (e) {
    if (e instanceof ImlmError) throw e;
    throw new ImlmError(`cannot read ${file}: ${(e as Error).message} (expected ${what})`, 'ERR_IO', { cause: e });
  } finally {
    closeSync(fd);
  }
}

/** ERR_FORMAT in the one shape: "<file>: <field>: expected …, found …; <what to do>". */
export function formatError(file: string, field: string, expected: string, found: string, todo: string): ImlmError {
  return new ImlmError(`${file}: ${field || '(the whole file)'}: expected ${expected} but found ${found}; ${todo}`, 'ERR_FORMAT');
}

/** A value in a message: short, and safe whatever it is. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing (the field is missing)';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  try {
    const text = JSON.stringify(value);
    if (text === undefined) return String(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return String(value);
  }
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Refuses `__proto__` keys and deep nesting; iterative, so a crafted file cannot overflow the stack. */
function checkShape(root: unknown, file: string, todo: string): void {
  const stack: Array<{ node: unknown; pointer: string; depth: number }> = [{ node: root, pointer: '', depth: 0 }];
  while (stack.length > 0) {
    const { node, pointer, depth } = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth > kMaxDepth) throw formatError(file, pointer, `nesting at most ${kMaxDepth} deep`, 'deeper nesting', todo);
    for (const key of Object.keys(node)) {
      if (key === '__proto__') throw formatError(file, `${pointer}/__proto__`, 'no key named __proto__', 'one', todo);
      stack.push({ node: (node as Record<string, unknown>)[key], pointer: `${pointer}/${escapePointer(key)}`, depth: depth + 1 });
    }
  }
}

function expectation(error: ErrorObject): string {
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'type':
      return `a value of type ${p.type}`;
    case 'const':
      return describe(p.allowedValue);
    case 'enum':
      return `one of ${(p.allowedValues as unknown[]).map(describe).join(', ')}`;
    case 'minimum':
    case 'exclusiveMinimum':
    case 'maximum':
    case 'exclusiveMaximum':
      return `a number ${p.comparison} ${p.limit}`;
    case 'pattern':
      return `a string matching ${p.pattern}`;
    case 'additionalProperties':
      return `no field '${p.additionalProperty}'`;
    case 'required':
      return `a field '${p.missingProperty}'`;
    case 'minItems':
      return `at least ${p.limit} item(s)`;
    case 'maxItems':
      return `at most ${p.limit} item(s)`;
    case 'minLength':
      return `a string of at least ${p.limit} character(s)`;
    case 'uniqueItems':
      return `no item twice (items ${p.j} and ${p.i} are equal)`;
    case 'propertyNames':
      return `field names that are ${p.propertyName === undefined ? 'valid' : 'allowed'}`;
    default:
      return error.message ?? 'a valid value';
  }
}

/** Checks an already-parsed value against `schema`; ERR_FORMAT naming the file and field. */
export function checkJson<T>(value: unknown, schema: Schema, file: string, todo: string): T {
  checkShape(value, file, todo);
  let check = compiled.get(schema);
  if (!check) {
    check = ajv.compile(schema);
    compiled.set(schema, check);
  }
  if (check(value)) return value as T;
  // propertyNames errors point at the object; the offending name is in params.
  const error = check.errors!.find((e) => e.keyword !== 'propertyNames') ?? check.errors![0];
  let pointer = error.instancePath;
  let found: string;
  if (error.keyword === 'required') found = 'no such field';
  else if (error.keyword === 'additionalProperties') {
    pointer = `${pointer}/${escapePointer(String((error.params as { additionalProperty: string }).additionalProperty))}`;
    found = 'one';
  } else if (error.keyword === 'propertyNames') {
    const name = String((error.params as { propertyName?: string }).propertyName);
    pointer = `${pointer}/${escapePointer(name)}`;
    found = `the field '${name}'`;
  } else found = describe(valueAt(value, pointer));
  throw formatError(file, pointer, expectation(error), found, todo);
}

/** Parses JSON text and checks it against `schema` (see the file comment). */
export function parseJsonFile<T>(text: string, schema: Schema, file: string, todo: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw formatError(file, '', 'valid JSON', `text that does not parse (${(e as Error).message})`, todo);
  }
  return checkJson<T>(value, schema, file, todo);
}

/** Reads a regular file, parses it and checks it (readRegularFile + parseJsonFile). */
export async function readJsonFile<T>(file: string, schema: Schema, todo: string): Promise<T> {
  const bytes = await readRegularFile(file, 'a JSON file');
  return parseJsonFile<T>(bytes.toString('utf8'), schema, file, todo);
}

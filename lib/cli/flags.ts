/** Flag parsers shared by the commands (numbers, lists), with the CLI's one message format. */
import { existsSync, statSync, accessSync, constants as fsConstants } from 'fs';
import os from 'os';
import path from 'path';
import { ImlmError } from '../errors';
import { numericFieldText, type NumericField } from '../config/train-config';

export const int = (v: string) => {
  const n = v.trim() === '' ? NaN : Number(v);
  if (!Number.isInteger(n)) throw new ImlmError(`Expected an integer but received '${v}'`, 'ERR_INVALID_ARG');
  return n;
};

/** An integer flag of at least `min` (e.g. 1 for sizes and step counts, 0 for counts that may be none). */
export const intAtLeast = (min: number) => (v: string) => {
  const n = int(v);
  if (n < min) throw new ImlmError(`Expected an integer >= ${min} but received '${v}'`, 'ERR_INVALID_ARG');
  return n;
};

/**
 * A named integer flag in [min, max]: `--checkpoint-every 0` is refused with the accepted range
 * ("Expected an integer >= 1 for --checkpoint-every but received '0'"), never silently changed.
 */
export const intFlag = (flag: string, min: number, max = Number.MAX_SAFE_INTEGER) => (v: string) => {
  const n = v.trim() === '' ? NaN : Number(v);
  const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ImlmError(`Expected an integer ${range} for ${flag} but received '${v}'`, 'ERR_INVALID_ARG');
  }
  return n;
};

/** A named number flag; `exclusiveMin`: the value must be above `min` (e.g. a learning rate > 0). */
export const numFlag = (flag: string, min = -Infinity, options: { exclusiveMin?: boolean; max?: number } = {}) => (v: string) => {
  const n = v.trim() === '' ? NaN : Number(v);
  const max = options.max ?? Infinity;
  const ok = Number.isFinite(n) && (options.exclusiveMin ? n > min : n >= min) && n <= max;
  if (!ok) {
    const range = [min > -Infinity ? `${options.exclusiveMin ? '>' : '>='} ${min}` : '', max < Infinity ? `<= ${max}` : ''].filter(Boolean).join(' and ');
    throw new ImlmError(`Expected a number${range ? ` ${range}` : ''} for ${flag} but received '${v}'`, 'ERR_INVALID_ARG');
  }
  return n;
};

/**
 * A flag that sets a numeric field of the training configuration: only parsed here — its range is
 * checked once, by the configuration's schema, when the configuration is resolved. Text that is
 * not a number is refused with what the field accepts ("Expected a number > 0 for --lr but received 'abc'").
 */
export const configNumber = (flag: string, field: NumericField) => (v: string) => {
  const n = v.trim() === '' ? NaN : Number(v);
  if (!Number.isFinite(n)) throw new ImlmError(`Expected ${numericFieldText(field)} for ${flag} but received '${v}'`, 'ERR_INVALID_ARG');
  return n;
};

/** One of a fixed set of words. */
export const choice = (flag: string, values: readonly string[]) => (v: string) => {
  if (!values.includes(v)) {
    throw new ImlmError(`Expected ${flag} ${values.join(' | ')} but received '${v}'`, 'ERR_INVALID_ARG');
  }
  return v;
};

export const num = (v: string) => {
  const n = v.trim() === '' ? NaN : Number(v);
  if (!Number.isFinite(n)) throw new ImlmError(`Expected a number but received '${v}'`, 'ERR_INVALID_ARG');
  return n;
};

/** "1e-3,1e-2" → [0.001, 0.01]. */
export const numList = (v: string) => v.split(',').filter((s) => s.trim() !== '').map((s) => num(s.trim()));

/** "1,2,3,4" → [1, 2, 3, 4]. */
export const intList = (v: string) => v.split(',').filter((s) => s.trim() !== '').map((s) => int(s.trim()));

/** The sweep a user asked for: every lr × every weight decay (each defaulting to the method's grid when absent). */
export function sweepFrom(lrs?: number[], weightDecays?: number[]): Array<{ lr?: number; weightDecay?: number }> | undefined {
  if (!lrs && !weightDecays) return undefined;
  const out: Array<{ lr?: number; weightDecay?: number }> = [];
  for (const weightDecay of weightDecays ?? [undefined]) {
    for (const lr of lrs ?? [undefined]) out.push({ ...(lr !== undefined ? { lr } : {}), ...(weightDecay !== undefined ? { weightDecay } : {}) });
  }
  return out;
}

// ---- paths, checked before any work ----

/** An input file that must exist and be a file (not a folder). */
export function checkInputFile(flag: string, file: string): void {
  if (!existsSync(file)) throw new ImlmError(`${flag} ${file} does not exist; expected a file`, 'ERR_IO');
  if (statSync(file).isDirectory()) throw new ImlmError(`${flag} ${file} is a folder; expected a file`, 'ERR_IO');
  try {
    accessSync(file, fsConstants.R_OK);
  } catch {
    throw new ImlmError(`${flag} ${file} cannot be read (permission denied); check its permissions`, 'ERR_IO');
  }
}

/** The nearest existing ancestor of `p` must be a writable folder (so `p` can be created). */
function checkCreatable(flag: string, p: string, what: string): void {
  let parent = path.dirname(path.resolve(p));
  while (!existsSync(parent) && path.dirname(parent) !== parent) parent = path.dirname(parent);
  if (!statSync(parent).isDirectory()) {
    throw new ImlmError(`${flag} ${p}: ${parent} is a file, so the ${what} cannot be created under it; choose another path`, 'ERR_IO');
  }
  try {
    accessSync(parent, fsConstants.W_OK);
  } catch {
    throw new ImlmError(`${flag} ${p}: the folder ${parent} is not writable; choose another path`, 'ERR_IO');
  }
}

/** An output folder: a writable folder if it exists (not a file), else one that can be created. */
export function checkOutputFolder(flag: string, dir: string): void {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new ImlmError(`${flag} ${dir} is a file; expected a folder (existing or to be created)`, 'ERR_IO');
    try {
      accessSync(dir, fsConstants.W_OK);
    } catch {
      throw new ImlmError(`${flag} ${dir} is not writable; choose another folder`, 'ERR_IO');
    }
    return;
  }
  checkCreatable(flag, dir, 'folder');
}

/** An output file: not a folder, its folder existing or creatable and writable. */
export function checkOutputFile(flag: string, file: string): void {
  if (existsSync(file) && statSync(file).isDirectory()) throw new ImlmError(`${flag} ${file} is a folder; expected a file to write`, 'ERR_IO');
  checkCreatable(flag, file, 'file');
}

// ---- signals ----

/** The signals a long command stops on (SIGTERM: SLURM, Kubernetes, `timeout`; SIGHUP: a closed terminal). */
export const kStopSignals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof kStopSignals)[number];

let stoppedBy: StopSignal | null = null;

/** The conventional exit code of a process stopped by `signal`: 128 + its number (130, 143, 129). */
export function signalExitCode(signal: StopSignal): number {
  return 128 + os.constants.signals[signal];
}

/** The signal that stopped this command, if one did (reportAndExit uses it for ERR_CANCELLED). */
export function stopSignal(): StopSignal | null {
  return stoppedBy;
}

export interface SignalStop {
  /** Removes the handlers (the default behaviour returns). */
  remove: () => void;
  /** The first signal received, or null. */
  signal: () => StopSignal | null;
  /** 128 + the first signal's number, or null. */
  exitCode: () => number | null;
}

/**
 * SIGINT, SIGTERM, SIGHUP → abort, once. The first signal asks the work to stop at a safe point
 * (training: after the current step, then a checkpoint is saved atomically). A second one does
 * not interrupt that save: it only says what is going on. A third exits at once with 128+N;
 * atomic saves (native/core/io/atomic_file.cc, lib/atomic-write.ts) then leave the previous
 * checkpoint intact and a `*.tmp-<pid>` file, removed when a run next starts in that folder.
 */
export function abortOnSignals(controller: AbortController, what: string): SignalStop {
  let count = 0;
  let first: StopSignal | null = null;
  const handler = (signal: StopSignal) => {
    count++;
    if (count === 1) {
      first = signal;
      stoppedBy = signal;
      const how = signal === 'SIGINT' ? 'Ctrl-C' : signal;
      process.stderr.write(`\nimlm-native: ${how}: stopping ${what} (the work done so far is saved; twice more to exit at once)…\n`);
      controller.abort();
    } else if (count === 2) {
      process.stderr.write(`\nimlm-native: ${signal}: still stopping and saving; one more signal exits at once without waiting (the previous checkpoint stays intact)\n`);
    } else {
      process.stderr.write(`\nimlm-native: ${signal}: exiting now without waiting for the save\n`);
      process.exit(signalExitCode(first ?? signal));
    }
  };
  const listeners = kStopSignals.map((s) => [s, () => handler(s)] as const);
  for (const [s, l] of listeners) process.on(s, l);
  return {
    remove: () => {
      for (const [s, l] of listeners) process.off(s, l);
    },
    signal: () => first,
    exitCode: () => (first ? signalExitCode(first) : null),
  };
}

/** SIGINT (and SIGTERM, SIGHUP) → abort, once; the returned function removes the handlers. */
export function abortOnSigint(controller: AbortController, what: string): () => void {
  return abortOnSignals(controller, what).remove;
}

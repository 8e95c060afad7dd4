/** Flag parsers shared by the commands (numbers, lists), with the CLI's one message format. */
import { ImlmError } from '../errors';

export const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new ImlmError(`Expected an integer but received '${v}'`, 'ERR_INVALID_ARG');
  return n;
};

/** An integer flag of at least `min` (e.g. 1 for sizes and step counts, 0 for counts that may be none). */
export const intAtLeast = (min: number) => (v: string) => {
  const n = int(v);
  if (n < min) throw new ImlmError(`Expected an integer >= ${min} but received '${v}'`, 'ERR_INVALID_ARG');
  return n;
};

export const num = (v: string) => {
  const n = Number(v);
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

/** SIGINT → abort, once; the returned function removes the handler. */
export function abortOnSigint(controller: AbortController, what: string): () => void {
  const onSigint = () => {
    process.stderr.write(`\nimlm-native: stopping ${what} (Ctrl-C again to kill)…\n`);
    controller.abort();
    process.off('SIGINT', onSigint);
  };
  process.on('SIGINT', onSigint);
  return () => process.off('SIGINT', onSigint);
}

/**
 * Stopping an evaluation when the caller's AbortSignal fires: between native tasks, and from
 * inside one through its progress callback (a throwing callback ends the native task).
 */
import { ImlmError } from '../errors';
import type { NativeEvalProgress } from '../native';

export type EvalProgress = NativeEvalProgress;

/** An onProgress for native tasks that also turns an aborted signal into ERR_CANCELLED. */
export function progressWithCancel(onProgress?: (p: EvalProgress) => void, signal?: AbortSignal): (p: EvalProgress) => void {
  return (p) => {
    if (signal?.aborted) throw new ImlmError('cancelled by the caller', 'ERR_CANCELLED');
    onProgress?.(p);
  };
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new ImlmError('cancelled by the caller', 'ERR_CANCELLED');
}

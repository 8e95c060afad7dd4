/**
 * The one error class of imlm-native. Every error it throws — from TypeScript validation or from
 * the native addon — is an ImlmError with a stable `code`; messages say what was expected, what
 * was received and what to do.
 */
export type ErrorCode =
  | 'ERR_INVALID_ARG' // a value passed in is wrong
  | 'ERR_DEVICE_UNAVAILABLE' // a device this build or machine cannot give
  | 'ERR_DISPOSED' // an object used after dispose()
  | 'ERR_TORCH' // LibTorch refused an operation
  | 'ERR_OUT_OF_MEMORY' // host or device memory ran out
  | 'ERR_IO' // a file could not be read or written
  | 'ERR_FORMAT' // a file's content is not what it must be
  | 'ERR_CANCELLED' // work stopped because the caller asked
  | 'ERR_NON_FINITE' // a loss became NaN or infinite (training stops, the last checkpoint stays)
  | 'ERR_BUSY' // an object is already running an operation
  | 'ERR_DISTRIBUTED' // a distributed run failed: rendezvous, a collective, or another rank died
  | 'ERR_NATIVE_LOAD' // the native addon is missing or does not load
  | 'ERR_NOT_AVAILABLE' // a feature that this version does not have yet
  | 'ERR_INTERNAL'; // a bug in imlm-native

export class ImlmError extends Error {
  readonly code: ErrorCode;

  constructor(message: string, code: ErrorCode, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImlmError';
    this.code = code;
  }
}

/** Type guard for catch blocks: `if (isImlmError(e) && e.code === 'ERR_IO') …`. */
export function isImlmError(value: unknown): value is ImlmError {
  return value instanceof ImlmError;
}

/** How the CLI reports a failure: one line with the code, the message, exit code 1. */
import { isImlmError } from '../errors';

export function reportAndExit(error: unknown): never {
  if (isImlmError(error)) {
    process.stderr.write(`imlm-native: ${error.code}: ${error.message}\n`);
  } else {
    const e = error as Error;
    process.stderr.write(`imlm-native: unexpected error: ${e?.stack ?? String(error)}\n`);
  }
  process.exit(1);
}

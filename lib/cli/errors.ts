/**
 * How the CLI reports a failure: exactly one line, `imlm-native: <CODE>: <message>`, and a non-zero
 * exit code (1; 128+N for work stopped by a signal). Errors that are not ImlmErrors — a usage
 * error from the argument parser, a file-system error, a bug — get a code too; never a stack.
 */
import { CommanderError } from 'commander';
import { isImlmError, type ErrorCode } from '../errors';
import { signalExitCode, stopSignal } from './flags';

const kFsReasons: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'it is a folder, a file was expected',
  ENOTDIR: 'a part of the path is a file, a folder was expected',
  EEXIST: 'it already exists',
  ENOSPC: 'no space left on the device',
  EROFS: 'the file system is read-only',
  ENOTEMPTY: 'the folder is not empty',
};

/** The one line printed for `error` (code and message, newlines folded). */
export function describeError(error: unknown): { code: ErrorCode; message: string; exitCode: number } {
  if (isImlmError(error)) {
    const signal = error.code === 'ERR_CANCELLED' ? stopSignal() : null;
    return { code: error.code, message: error.message, exitCode: signal ? signalExitCode(signal) : 1 };
  }
  if (error instanceof CommanderError) {
    const message = error.message.replace(/^error: /, '');
    return { code: 'ERR_INVALID_ARG', message: `${message} (run \`imlm-native help\` or \`imlm-native <command> --help\` for usage)`, exitCode: error.exitCode || 1 };
  }
  const e = error as NodeJS.ErrnoException & { dest?: string };
  if (e && typeof e.code === 'string' && kFsReasons[e.code]) {
    const where = e.path ? `${e.syscall ?? 'access'} ${e.path}${e.dest ? ` → ${e.dest}` : ''}` : e.syscall ?? 'a file operation';
    return { code: 'ERR_IO', message: `cannot ${where}: ${kFsReasons[e.code]}; check the path and its permissions`, exitCode: 1 };
  }
  if (error instanceof SyntaxError) {
    return { code: 'ERR_FORMAT', message: `a file or value could not be parsed: ${error.message}`, exitCode: 1 };
  }
  const message = e?.message ?? String(error);
  return { code: 'ERR_INTERNAL', message: `${message} (a bug in imlm-native: please report it with the command line)`, exitCode: 1 };
}

export function reportAndExit(error: unknown): never {
  const { code, message, exitCode } = describeError(error);
  process.stderr.write(`imlm-native: ${code}: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
  process.exit(exitCode);
}

/**
 * A run folder: the one folder a pre-training run (lib/train/pretrain.ts) or a fine-tuning run
 * (lib/eval/finetune.ts) writes everything into — its JSON records (config.json, data.json,
 * progress.json, results.json) and checkpoints/last.safetensors, from which it resumes.
 *
 * Both kinds of run ask the same questions of it: may a new run start here (no checkpoint to
 * overwrite), may a run resume here (a folder that holds a checkpoint), and read or atomically
 * write one of its JSON files. A crash while writing leaves the old or the new file, never a mix
 * (lib/atomic-write.ts).
 */
import { existsSync, statSync, promises as fs } from 'fs';
import path from 'path';
import { writeJsonAtomic } from './atomic-write';
import { readJsonFile } from './data/json-file';
import type { Schema } from './config/validate';
import { ImlmError } from './errors';

/** The checkpoint a run resumes from: the same place for every kind of run. */
export function lastCheckpointPath(outDir: string): string {
  return path.join(outDir, 'checkpoints', 'last.safetensors');
}

/** Whether the folder holds a run that can be resumed (it has a last checkpoint). */
export function hasCheckpoint(outDir: string): boolean {
  return existsSync(lastCheckpointPath(outDir));
}

/** Refuses a run folder that already holds a checkpoint (a new run must not overwrite one). */
export function assertFreshRunFolder(outDir: string): void {
  if (hasCheckpoint(outDir)) {
    throw new ImlmError(
      `the run folder ${outDir} already holds a checkpoint; pass --resume to continue it or choose another --out`,
      'ERR_INVALID_ARG',
    );
  }
}

/** Refuses to resume a folder that holds no run, saying what to do instead. */
export function assertResumableRunFolder(outDir: string): void {
  if (!existsSync(outDir)) {
    throw new ImlmError(`cannot resume: the run folder ${outDir} does not exist; start a new run without --resume, or pass the folder of an earlier run`, 'ERR_INVALID_ARG');
  }
  if (!statSync(outDir).isDirectory()) {
    throw new ImlmError(`cannot resume: ${outDir} is a file, not a run folder; pass the folder of an earlier run`, 'ERR_INVALID_ARG');
  }
  if (!hasCheckpoint(outDir)) {
    throw new ImlmError(
      `cannot resume: ${outDir} holds no run (no checkpoints/last.safetensors); start a new run there without --resume, or pass the folder of an earlier run`,
      'ERR_INVALID_ARG',
    );
  }
}

/** A JSON file of a run folder, parsed: ERR_IO when missing or unreadable, ERR_FORMAT when not JSON. */
export async function readRunJson(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new ImlmError(`cannot read ${what} ${file}: ${(e as Error).message}; the run folder is incomplete — start a new run in another folder`, 'ERR_IO');
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ImlmError(`${file} is not valid JSON (${(e as Error).message}); restore ${what} or start a new run in another folder`, 'ERR_FORMAT');
  }
}

/**
 * A JSON file of a run folder, checked against `schema` (lib/data/json-file.ts): ERR_IO when it
 * cannot be read, ERR_FORMAT naming the file and the field otherwise; `todo` says what to do.
 */
export function readCheckedRunJson<T>(file: string, schema: Schema, todo: string): Promise<T> {
  return readJsonFile<T>(file, schema, todo);
}

/** Writes a JSON file of a run folder atomically (indented, newline-terminated). */
export function writeRunJson(file: string, value: unknown): Promise<void> {
  return writeJsonAtomic(file, value);
}

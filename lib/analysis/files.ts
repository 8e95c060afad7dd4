/**
 * Reading the files the analyses work on (features and predictions, docs/formats.md) with their
 * checks, and pairing two files' rows by sample id.
 */
import { existsSync, statSync } from 'fs';
import { ImlmError } from '../errors';
import { native } from '../native';
import { readSafetensors, type SafetensorsContent } from '../safetensors';
import { loadSplit, type SplitName } from '../data/store';
import type { Tensor } from '../tensor';

export type Task = 'multiclass' | 'binary' | 'multilabel';
const kTasks: readonly Task[] = ['multiclass', 'binary', 'multilabel'];

/** The tensors of a features file that hold representations (docs/formats.md: block1..4, embedding). */
export const kFeatureTensors = ['block1', 'block2', 'block3', 'block4', 'embedding'] as const;

export interface PredictionsFile {
  path: string;
  task: Task;
  classes: string[];
  ids: Tensor;
  probabilities: Tensor;
  labels: Tensor | undefined;
  metadata: Record<string, string>;
  dispose(): void;
}

export interface FeaturesFile {
  path: string;
  ids: Tensor;
  /** block1..block4 and embedding, those present. */
  representations: Record<string, Tensor>;
  metadata: Record<string, string>;
  dispose(): void;
}

function disposer(content: SafetensorsContent): () => void {
  return () => {
    for (const t of Object.values(content.tensors)) t.dispose();
  };
}

function formatError(path: string, message: string): ImlmError {
  return new ImlmError(`${path}: ${message}`, 'ERR_FORMAT');
}

function checkIds(path: string, ids: Tensor | undefined): Tensor {
  if (!ids || ids.dtype !== 'int64' || ids.shape.length !== 1) {
    throw formatError(path, `expected a tensor 'ids' int64 [N] (the store's sample ids) but found ${ids ? `${ids.dtype} [${ids.shape.join(', ')}]` : 'none'}`);
  }
  return ids;
}

function parseClasses(path: string, text: string | undefined, count: number): string[] {
  if (text === undefined) return Array.from({ length: count }, (_, i) => `class ${i}`);
  let classes: unknown;
  try {
    classes = JSON.parse(text);
  } catch {
    throw formatError(path, `metadata 'classes' must be a JSON array of names but is ${JSON.stringify(text)}`);
  }
  if (!Array.isArray(classes) || !classes.every((c) => typeof c === 'string')) {
    throw formatError(path, `metadata 'classes' must be a JSON array of names but is ${text}`);
  }
  return classes as string[];
}

function checkLabels(path: string, labels: Tensor, task: Task, rows: number, classes: number): void {
  const shape = `${labels.dtype} [${labels.shape.join(', ')}]`;
  if (task === 'multilabel') {
    if (labels.shape.length !== 2 || labels.shape[0] !== rows || labels.shape[1] !== classes || !['uint8', 'int64', 'int32', 'bool'].includes(labels.dtype)) {
      throw formatError(path, `a multilabel task expects 'labels' uint8 [${rows}, ${classes}] (0/1) but found ${shape}`);
    }
  } else if (labels.shape.length !== 1 || labels.shape[0] !== rows || !['int64', 'int32'].includes(labels.dtype)) {
    throw formatError(path, `a ${task} task expects 'labels' int64 [${rows}] (class index) but found ${shape}`);
  }
}

/**
 * A safetensors file whose metadata `format` is `format`, turned into what `check` returns
 * (`check` throws ERR_FORMAT for whatever else is wrong); its tensors are freed when a check fails.
 */
async function readFormatted<Parsed>(
  path: string,
  format: string,
  kind: string,
  check: (content: SafetensorsContent, dispose: () => void) => Parsed,
): Promise<Parsed> {
  const content = await readSafetensors(path);
  const dispose = disposer(content);
  try {
    const found = content.metadata.format;
    if (found !== format) throw formatError(path, `expected a ${kind} file (metadata format '${format}') but found format '${found ?? '(none)'}'`);
    return check(content, dispose);
  } catch (e) {
    dispose();
    throw e;
  }
}

/** A predictions file (format imlm-native/predictions); ERR_FORMAT naming what is wrong. */
export function readPredictions(path: string): Promise<PredictionsFile> {
  return readFormatted(path, 'imlm-native/predictions', 'predictions', ({ tensors, metadata }, dispose) => {
    const task = metadata.task as Task;
    if (!kTasks.includes(task)) throw formatError(path, `metadata 'task' must be one of ${kTasks.join(', ')} but is '${metadata.task ?? '(none)'}'`);
    const ids = checkIds(path, tensors.ids);
    const probabilities = tensors.probabilities;
    if (!probabilities || probabilities.shape.length !== 2 || probabilities.shape[0] !== ids.shape[0] || !['float32', 'float64'].includes(probabilities.dtype)) {
      throw formatError(
        path,
        `expected 'probabilities' float32 [${ids.shape[0]}, K] but found ${probabilities ? `${probabilities.dtype} [${probabilities.shape.join(', ')}]` : 'none'}`,
      );
    }
    const k = probabilities.shape[1];
    const classes = parseClasses(path, metadata.classes, task === 'binary' ? 2 : k);
    if (classes.length !== k) throw formatError(path, `metadata 'classes' names ${classes.length} classes but 'probabilities' has ${k} columns`);
    if (tensors.labels) checkLabels(path, tensors.labels, task, ids.shape[0], k);
    return { path, task, classes, ids, probabilities, labels: tensors.labels, metadata, dispose };
  });
}

/** A features file (format imlm-native/features) with at least one representation. */
export function readFeatures(path: string): Promise<FeaturesFile> {
  return readFormatted(path, 'imlm-native/features', 'features', ({ tensors, metadata }, dispose) => {
    const ids = checkIds(path, tensors.ids);
    const representations: Record<string, Tensor> = {};
    for (const name of kFeatureTensors) {
      const t = tensors[name];
      if (!t) continue;
      if (t.shape.length !== 2 || t.shape[0] !== ids.shape[0] || !['float32', 'float64'].includes(t.dtype)) {
        throw formatError(path, `expected '${name}' float32 [${ids.shape[0]}, C] but found ${t.dtype} [${t.shape.join(', ')}]`);
      }
      representations[name] = t;
    }
    if (Object.keys(representations).length === 0) throw formatError(path, `holds none of ${kFeatureTensors.join(', ')}`);
    return { path, ids, representations, metadata, dispose };
  });
}

/** Two files read with `read`; when the second fails, the first is disposed before the error goes on. */
export async function readBoth<Parsed extends { dispose(): void }>(a: string, b: string, read: (path: string) => Promise<Parsed>): Promise<[Parsed, Parsed]> {
  const fa = await read(a);
  try {
    return [fa, await read(b)];
  } catch (e) {
    fa.dispose();
    throw e;
  }
}

/**
 * Labels with their sample ids from a prepared store (its `split`, default test) or from a
 * safetensors file with `ids` and `labels`. The caller disposes both tensors.
 */
export async function readLabels(source: string, split: SplitName = 'test'): Promise<{ ids: Tensor; labels: Tensor; description: string }> {
  if (!existsSync(source)) throw new ImlmError(`labels source ${source} does not exist; pass a prepared store folder or a safetensors file with 'ids' and 'labels'`, 'ERR_IO');
  if (statSync(source).isDirectory()) {
    const { images, labels, ids } = await loadSplit(source, split);
    images.dispose();
    return { ids, labels, description: `${source} (${split} split)` };
  }
  const content = await readSafetensors(source);
  const { ids, labels, ...rest } = content.tensors;
  for (const t of Object.values(rest)) t.dispose();
  if (!ids || !labels) {
    ids?.dispose();
    labels?.dispose();
    throw formatError(source, "a labels file needs tensors 'ids' and 'labels'");
  }
  checkIds(source, ids);
  return { ids, labels, description: source };
}

/**
 * `tensorsB`'s rows reordered so that row i belongs to idsA[i]. ERR_INVALID_ARG when the two
 * files do not hold the same samples (saying how many ids each lacks) or an id repeats.
 */
export async function alignRows(idsA: Tensor, idsB: Tensor, tensorsB: Tensor[], names?: { a: string; b: string }): Promise<Tensor[]> {
  try {
    return await native().analysisAlign(idsA, idsB, tensorsB);
  } catch (e) {
    if (!names || !(e instanceof ImlmError)) throw e;
    throw new ImlmError(`${e.message} (first file: ${names.a}; second file: ${names.b})`, e.code, { cause: e });
  }
}

export { checkLabels };

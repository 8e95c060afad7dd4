/**
 * What the evaluation commands read from a store and a checkpoint: the split tensors, the task
 * and its classes, the label fraction's rows of the training split (the manifest's seeded,
 * stratified, nested ids — METHOD.md Q5/Q6 fixed), and the image size the checkpoint was
 * trained at.
 */
import { promises as fs } from 'fs';
import path from 'path';
import { ImlmError } from '../errors';
import type { NativeEvalProgress } from '../native';
import { readSafetensors } from '../safetensors';
import { loadSplit, type Manifest, type SplitName, type Task } from '../data/store';
import { tensor, type Tensor } from '../tensor';

export type EvalProgress = NativeEvalProgress;
export type SelectionMetric = 'accuracy' | 'auc';

export interface EvalSplit {
  manifest: Manifest;
  images: Tensor;
  labels: Tensor;
  ids: Tensor;
}

export function loadEvalSplit(store: string, split: SplitName): Promise<EvalSplit> {
  return loadSplit(store, split);
}

export function disposeSplit(split: EvalSplit): void {
  for (const t of [split.images, split.labels, split.ids]) t.dispose();
}

/** The store's task, refusing an unlabeled store (task 'none': prepared for pre-training only). */
export function labelledTask(manifest: Manifest): Exclude<Task, 'none'> {
  if (manifest.task === 'none') {
    throw new ImlmError(
      `${manifest.source} was prepared without labels (task 'none'); evaluation needs a labelled store (prepare it with its labels)`,
      'ERR_INVALID_ARG',
    );
  }
  return manifest.task;
}

/** K: the width of the probabilities (binary: 2 columns, positive = column 1). */
export function classCount(manifest: Manifest): number {
  return manifest.task === 'binary' ? 2 : manifest.classes.length;
}

/** accuracy for multiclass and binary (as the brief and the reference's BCH), macro AUC for multilabel. */
export function defaultMetric(task: Task): SelectionMetric {
  return task === 'multilabel' ? 'auc' : 'accuracy';
}

export function checkMetric(task: Task, metric: SelectionMetric): SelectionMetric {
  if (task === 'multilabel' && metric !== 'auc') {
    throw new ImlmError(`Expected metric 'auc' for a multilabel store but received '${metric}'`, 'ERR_INVALID_ARG');
  }
  if (task === 'multiclass' && metric !== 'accuracy') {
    throw new ImlmError(`Expected metric 'accuracy' for a multiclass store but received '${metric}' (AUC is for binary and multilabel tasks)`, 'ERR_INVALID_ARG');
  }
  return metric;
}

/**
 * The rows of the training split that a label fraction holds: every row for 1, else the rows of
 * the manifest's recorded ids. Returns null for "all rows".
 */
export function fractionRows(manifest: Manifest, trainIds: Tensor, fraction: number): { rows: Tensor | null; count: number } {
  const total = manifest.splits.train?.count ?? 0;
  if (fraction === 1) return { rows: null, count: total };
  const recorded = manifest.labelFractions?.fractions ?? {};
  const entry = recorded[String(fraction)];
  if (!entry?.ids) {
    const known = Object.keys(recorded).map(Number).sort((a, b) => a - b).join(', ') || 'none';
    throw new ImlmError(
      `Expected a label fraction the store records (${known}) but received ${fraction}; prepare the store with that fraction`,
      'ERR_INVALID_ARG',
    );
  }
  const rowOf = new Map<number, number>();
  (trainIds.toTypedArray() as BigInt64Array).forEach((id, row) => rowOf.set(Number(id), row));
  const rows = entry.ids.map((id) => {
    const row = rowOf.get(id);
    if (row === undefined) throw new ImlmError(`the store's label fraction ${fraction} names sample id ${id}, which its train split lacks (prepare it again)`, 'ERR_FORMAT');
    return row;
  });
  return { rows: tensor(BigInt64Array.from(rows, BigInt), [rows.length]), count: rows.length };
}

export interface CheckpointInfo {
  /** imlm-native/train-state, imlm-native/backbone, imlm-native/finetune-state, or '' for other files. */
  format: string;
  /** The image side the network was trained at, when the file records it. */
  imageSize: number | null;
}

/** Reads a checkpoint's metadata (the file is memory-mapped, so its tensors are not read). */
export async function checkpointInfo(file: string): Promise<CheckpointInfo> {
  try {
    await fs.access(file);
  } catch {
    throw new ImlmError(`the checkpoint ${file} does not exist; pass a run's checkpoints/last.safetensors or backbone.safetensors`, 'ERR_IO');
  }
  const content = await readSafetensors(file, { mmap: true });
  for (const t of Object.values(content.tensors)) t.dispose();
  const format = content.metadata.format ?? '';
  let imageSize: number | null = null;
  if (content.metadata.config) {
    try {
      const size = (JSON.parse(content.metadata.config) as { imageSize?: unknown }).imageSize;
      if (typeof size === 'number') imageSize = size;
    } catch {
      /* a config that does not parse only loses the default image size */
    }
  }
  if (content.metadata.image_size) imageSize = Number(content.metadata.image_size);
  return { format, imageSize };
}

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

export const absolute = (p: string) => path.resolve(p);

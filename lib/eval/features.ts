/**
 * Features of a frozen network over one split of a store (eval mode, no gradients, batched on a
 * worker thread), and the features file (CONTRACTS: `ids`, `labels`, `block1`..`block4`,
 * `embedding` when the checkpoint has a head). `embed` writes one; the probes keep one per split
 * in their run folder as a cache.
 */
import { promises as fs } from 'fs';
import path from 'path';
import { native, type NativeProcessGroup, type NativeTensor } from '../native';
import { packageVersion } from '../version';
import { readSafetensors, writeSafetensors } from '../safetensors';
import type { Manifest, SplitName } from '../data/store';
import { ImlmError } from '../errors';
import { tensor } from '../tensor';
import { absolute } from './absolute-path';
import { progressWithCancel, type EvalProgress } from './cancellation';
import { checkpointInfo } from './checkpoint-info';
import { disposeSplit, loadEvalSplit, type EvalSplit } from './eval-split';
import { extractSharded } from './sharded-features';
import { kEvalDefaults, kProbeDefaults } from './options';

export interface FeatureOptions {
  /** A training state (checkpoints/last.safetensors), a backbone.safetensors or a fine-tuned state. */
  checkpoint: string;
  store: string;
  split: SplitName;
  /** Images per forward (default 256). */
  batchSize?: number;
  /** Resize to this side first (default: the size the checkpoint was trained at, else the store's). */
  imageSize?: number;
  device?: string;
  threads?: number;
  /** Called on rank 0 only when `group` is given (for its own shard). */
  onProgress?: (p: EvalProgress) => void;
  signal?: AbortSignal;
  /**
   * The process group of a distributed run (native().createProcessGroup): each rank runs the
   * network over its shard of the split and the features are gathered; rank 0 alone writes.
   */
  group?: NativeProcessGroup;
  /**
   * Only some rows of the split (e.g. a 1% label fraction's): `rows` picks them from the loaded
   * split (sorted row indices); `key` names the choice in the features cache. Not with `group`.
   */
  subset?: { key: string; rows(split: EvalSplit): number[] };
}

/** Whether this process writes results: rank 0 of a distributed run, or a process alone. */
export const isLead = (group?: NativeProcessGroup) => !group || group.rank === 0;

export interface SplitFeatures {
  /** F32 [N, C_k] for blocks 1..4. */
  blocks: NativeTensor[];
  embedding: NativeTensor | null;
  ids: NativeTensor;
  labels: NativeTensor;
  manifest: Manifest;
  arch: string;
  /** What the checkpoint file is: train-state, backbone or finetune-state. */
  kind: string;
  imageSize: number;
}

export function disposeFeatures(f: SplitFeatures): void {
  for (const t of [...f.blocks, f.embedding, f.ids, f.labels]) t?.dispose();
}

export async function resolveImageSize(checkpoint: string, manifest: Manifest, requested?: number): Promise<number> {
  if (requested !== undefined) {
    if (!Number.isInteger(requested) || requested < 1) throw new ImlmError(`Expected an image size >= 1 but received ${requested}`, 'ERR_INVALID_ARG');
    return requested;
  }
  return (await checkpointInfo(checkpoint)).imageSize ?? manifest.imageSize[0];
}

/** Runs the network over the split; the caller disposes the result (disposeFeatures). */
export async function computeFeatures(o: FeatureOptions): Promise<SplitFeatures> {
  let split = await loadEvalSplit(o.store, o.split);
  if (o.subset) {
    if (o.group) throw new ImlmError('features of a subset of rows are computed by one process; drop the process group', 'ERR_INVALID_ARG');
    const whole = split;
    try {
      const rows = o.subset.rows(whole);
      const [images, labels, ids] = await Promise.all([whole.images, whole.labels, whole.ids].map((t) => native().selectRows(t, rows)));
      split = { manifest: whole.manifest, images, labels, ids };
    } finally {
      disposeSplit(whole);
    }
  }
  try {
    const imageSize = await resolveImageSize(o.checkpoint, split.manifest, o.imageSize);
    const batchSize = o.batchSize ?? kProbeDefaults.featureBatchSize;
    const onProgress = isLead(o.group) ? o.onProgress : undefined;
    const extract = (images: NativeTensor) =>
      native().extractFeatures(
        { checkpoint: o.checkpoint, images, batchSize, imageSize, embedding: true, device: o.device ?? kEvalDefaults.device, threads: o.threads ?? kEvalDefaults.threads },
        progressWithCancel(onProgress, o.signal),
      );
    const f = o.group && o.group.worldSize > 1 ? await extractSharded(o.group, split.images, split.ids, batchSize, extract) : await extract(split.images);
    return { blocks: f.blocks, embedding: f.embedding, ids: split.ids, labels: split.labels, manifest: split.manifest, arch: f.arch, kind: f.kind, imageSize };
  } finally {
    split.images.dispose();
  }
}

/** Identifies a cached features file: same checkpoint file (path, size, mtime), store content, split and image size. */
export async function featuresKey(checkpoint: string, manifest: Manifest, split: SplitName, imageSize: number, subset?: string): Promise<Record<string, string>> {
  const stat = await fs.stat(checkpoint);
  return {
    checkpoint: absolute(checkpoint),
    checkpoint_identity: `${stat.size}:${stat.mtimeMs}`,
    store_hash: manifest.contentHash,
    split,
    image_size: String(imageSize),
    rows: subset ?? 'all',
  };
}

export async function writeFeatures(file: string, f: SplitFeatures, store: string, key: Record<string, string>): Promise<void> {
  const tensors: Record<string, NativeTensor> = { ids: f.ids, labels: f.labels };
  f.blocks.forEach((b, k) => (tensors[`block${k + 1}`] = b));
  if (f.embedding) tensors.embedding = f.embedding;
  await writeSafetensors(file, tensors, {
    format: 'imlm-native/features',
    format_version: '1',
    task: f.manifest.task,
    classes: JSON.stringify(f.manifest.classes),
    arch: f.arch,
    checkpoint_kind: f.kind,
    store: absolute(store),
    created: new Date().toISOString(),
    imlm_native_version: packageVersion,
    ...key,
  });
}

/**
 * Features from `file` when it was written for the same key, else computed and written there.
 * Returns them with `cached` saying which. With `o.group`, rank 0 decides whether the cache
 * serves (the other ranks follow it) and alone reads and writes it; the others return null.
 */
export async function cachedFeatures(file: string, o: FeatureOptions, manifest: Manifest): Promise<(SplitFeatures & { cached: boolean }) | null> {
  const imageSize = await resolveImageSize(o.checkpoint, manifest, o.imageSize);
  const key = await featuresKey(o.checkpoint, manifest, o.split, imageSize, o.subset?.key);
  const lead = isLead(o.group);
  const cached = lead ? await readCachedFeatures(file, key, manifest, imageSize) : null;
  if (o.group && o.group.worldSize > 1 && !(await leadSays(o.group, cached !== null))) {
    const f = await computeFeatures({ ...o, imageSize });
    if (lead) {
      await writeFeatures(file, f, o.store, key);
      return { ...f, cached: false };
    }
    disposeFeatures(f);
    return null;
  }
  if (!lead) return null;
  if (cached) return cached;
  const f = await computeFeatures({ ...o, imageSize });
  await writeFeatures(file, f, o.store, key);
  return { ...f, cached: false };
}

/** The features cached in `file` for exactly these options (all rows unless `o.subset`), or null. */
export async function readFeaturesCache(file: string, o: FeatureOptions, manifest: Manifest): Promise<(SplitFeatures & { cached: true }) | null> {
  const imageSize = await resolveImageSize(o.checkpoint, manifest, o.imageSize);
  return readCachedFeatures(file, await featuresKey(o.checkpoint, manifest, o.split, imageSize, o.subset?.key), manifest, imageSize);
}

async function readCachedFeatures(file: string, key: Record<string, string>, manifest: Manifest, imageSize: number): Promise<(SplitFeatures & { cached: true }) | null> {
  try {
    const content = await readSafetensors(file, { mmap: true });
    const m = content.metadata;
    const t = content.tensors;
    if (m.format === 'imlm-native/features' && Object.entries(key).every(([k, v]) => m[k] === v) && t.block1 && t.block4 && t.ids && t.labels) {
      return {
        blocks: [t.block1, t.block2, t.block3, t.block4],
        embedding: t.embedding ?? null,
        ids: t.ids,
        labels: t.labels,
        manifest,
        arch: m.arch,
        kind: m.checkpoint_kind,
        imageSize,
        cached: true,
      };
    }
    for (const x of Object.values(t)) x.dispose();
  } catch {
    /* no usable cache: compute */
  }
  return null;
}

/** Rank 0's yes or no, on every rank (one all-gather of a flag). */
async function leadSays(group: NativeProcessGroup, yes: boolean): Promise<boolean> {
  const flag = tensor(Int32Array.of(yes ? 1 : 0), [1]);
  try {
    const all = await group.allGather(flag);
    try {
      return all.toTypedArray()[0] === 1;
    } finally {
      all.dispose();
    }
  } finally {
    flag.dispose();
  }
}

export interface EmbedOptions extends FeatureOptions {
  /** The features file to write (atomically). */
  out: string;
}

export interface EmbedResult {
  out: string;
  split: SplitName;
  count: number;
  /** C_1..C_4. */
  blockChannels: number[];
  /** D, or null when the checkpoint has no head. */
  embeddingDim: number | null;
  arch: string;
  checkpointKind: string;
  imageSize: number;
  seconds: number;
  /** Whether this process wrote `out`: false on the ranks other than 0 of a distributed run. */
  written: boolean;
}

/**
 * Writes the features file of one split (docs/formats.md, "Features file"). With `o.group`,
 * every rank computes its shard and rank 0 alone writes the whole split, the same bytes (but
 * for the `created` time) as one process would.
 */
export async function embed(o: EmbedOptions): Promise<EmbedResult> {
  const start = Date.now();
  // The folder first: a path that cannot be written fails before the network runs, not after.
  if (isLead(o.group)) await fs.mkdir(path.dirname(o.out), { recursive: true });
  const f = await computeFeatures(o);
  try {
    const written = isLead(o.group);
    if (written) await writeFeatures(o.out, f, o.store, await featuresKey(o.checkpoint, f.manifest, o.split, f.imageSize));
    return {
      written,
      out: o.out,
      split: o.split,
      count: f.ids.shape[0],
      blockChannels: f.blocks.map((b) => b.shape[1]),
      embeddingDim: f.embedding ? f.embedding.shape[1] : null,
      arch: f.arch,
      checkpointKind: f.kind,
      imageSize: f.imageSize,
      seconds: (Date.now() - start) / 1000,
    };
  } finally {
    disposeFeatures(f);
  }
}


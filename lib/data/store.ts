/**
 * A prepared data set ("store", docs/formats.md): a folder with manifest.json and one
 * safetensors shard per split (`images` U8 [N, C, H, W], `labels`, `ids` I64 [N], and for image
 * sources `patients` I64 [N]), plus `samples.json` (id → source file, patient names) for image
 * sources. Written to a temporary folder and renamed into place at the end, so a store that
 * exists is complete.
 */
import { createHash } from 'crypto';
import { createReadStream, existsSync, promises as fs } from 'fs';
import path from 'path';
import { writeJsonAtomic } from '../atomic-write';
import { ImlmError } from '../errors';
import { fileKind, formatError, parseJsonFile, readJsonFile, readRegularFile } from './json-file';
import { manifestSchema, samplesSchema } from './schemas';
import type { RecordedLabelFractions } from './splits';
import { readSafetensors, writeSafetensors } from '../safetensors';
import { tensor, type Tensor } from '../tensor';
import { packageVersion } from '../version';

/** 'none': an unlabeled source (SSL only); its `labels` are I64 [N] filled with -1. */
export type Task = 'multiclass' | 'binary' | 'multilabel' | 'none';
export type SplitName = 'train' | 'val' | 'test';

export interface SplitData {
  /** N×C×H×W bytes, row-major. */
  images: Uint8Array;
  /** multiclass/binary: class index per image; multilabel: N×L 0/1 bytes. */
  labels: BigInt64Array | Uint8Array;
  /** Stable sample ids (the row in the source), so features can be aligned across runs. */
  ids: BigInt64Array;
}

export interface Manifest {
  format: 'imlm-native/dataset';
  formatVersion: 1;
  sourceFormat: string;
  source: string;
  task: Task;
  classes: string[];
  channels: number;
  imageSize: [number, number];
  splits: Partial<Record<SplitName, { count: number; shard: string }>>;
  splitMethod: string;
  seed: number;
  preparation: Record<string, unknown>;
  /**
   * Seeded, stratified, nested subsets of the training split for label-fraction experiments:
   * per fraction the count and (below 100%) the sample ids.
   */
  labelFractions?: RecordedLabelFractions;
  skipped: Array<{ file: string; reason: string }>;
  /** Image sources: the sidecar mapping ids to source files and patient indices to names. */
  samples?: { file: string; count: number };
  /** Images of the source left out on purpose (e.g. in no --split-list), with why. */
  excluded?: { count: number; reason: string; examples: string[] };
  contentHash: string;
  created: string;
  imlmNativeVersion: string;
}

export interface StoreContent {
  manifest: Omit<Manifest, 'format' | 'formatVersion' | 'splits' | 'contentHash' | 'created' | 'imlmNativeVersion'>;
  splits: Partial<Record<SplitName, SplitData>>;
}

export async function sha256Of(files: string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const file of files) {
    await new Promise<void>((resolve, reject) => {
      createReadStream(file)
        .on('data', (chunk) => hash.update(chunk))
        .on('end', () => resolve())
        .on('error', reject);
    });
  }
  return hash.digest('hex');
}

/** Refuses an existing store unless overwrite; returns the temporary folder to build it in. */
export async function beginStore(out: string, options: { overwrite?: boolean } = {}): Promise<string> {
  if (existsSync(out) && !options.overwrite) {
    throw new ImlmError(`${out} already exists; pass --overwrite to replace it, or choose another folder`, 'ERR_INVALID_ARG');
  }
  const temp = `${out}.tmp-${process.pid}`;
  await fs.rm(temp, { recursive: true, force: true });
  await fs.mkdir(temp, { recursive: true });
  return temp;
}

/** Moves a complete temporary store folder into place (replacing `out`, which beginStore allowed). */
export async function commitStore(temp: string, out: string): Promise<void> {
  if (existsSync(out)) await fs.rm(out, { recursive: true, force: true });
  await fs.rename(temp, out);
}

/** Writes a store at `out` (refused if it exists, unless overwrite). */
export async function writeStore(out: string, content: StoreContent, options: { overwrite?: boolean } = {}): Promise<Manifest> {
  const temp = await beginStore(out, options);
  const [height, width] = content.manifest.imageSize;
  const splits: Manifest['splits'] = {};
  const shards: string[] = [];
  try {
    for (const [name, split] of Object.entries(content.splits) as Array<[SplitName, SplitData]>) {
      const count = split.ids.length;
      const shard = `${name}.safetensors`;
      const labelsShape = split.labels instanceof BigInt64Array ? [count] : [count, split.labels.length / Math.max(1, count)];
      const tensors: Record<string, Tensor> = {
        images: tensor(split.images, [count, content.manifest.channels, height, width]),
        labels: tensor(split.labels, labelsShape),
        ids: tensor(split.ids, [count]),
      };
      try {
        await writeSafetensors(path.join(temp, shard), tensors, { format: 'imlm-native/dataset-shard', split: name });
      } finally {
        for (const t of Object.values(tensors)) t.dispose();
      }
      splits[name] = { count, shard };
      shards.push(path.join(temp, shard));
    }
    const manifest: Manifest = {
      format: 'imlm-native/dataset',
      formatVersion: 1,
      ...content.manifest,
      splits,
      contentHash: `sha256:${await sha256Of(shards)}`,
      created: new Date().toISOString(),
      imlmNativeVersion: packageVersion,
    };
    await writeJsonAtomic(path.join(temp, 'manifest.json'), manifest);
    await commitStore(temp, out);
    return manifest;
  } catch (e) {
    await fs.rm(temp, { recursive: true, force: true });
    throw e;
  }
}

const kPrepareAgain = 'the store is damaged or was changed by hand; prepare it again with `imlm-native prepare`';

/**
 * Reads and checks a store's manifest: the schema (lib/data/schemas.ts), then what the code
 * relies on that a schema cannot say. Any problem is ERR_FORMAT naming manifest.json and the field.
 */
export async function readManifest(store: string): Promise<Manifest> {
  const file = path.join(store, 'manifest.json');
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(file, 'the manifest of a prepared data set');
  } catch (e) {
    throw new ImlmError(`${store} is not a prepared data set (cannot read ${file}: ${(e as Error).message}); create one with \`imlm-native prepare\``, 'ERR_FORMAT', { cause: e });
  }
  const manifest = parseJsonFile<Manifest>(bytes.toString('utf8'), manifestSchema, file, kPrepareAgain);
  checkManifestSemantics(manifest, file);
  return manifest;
}

/** The manifest's internal agreements (the schema has checked every type and range). */
function checkManifestSemantics(m: Manifest, file: string): void {
  const bad = (field: string, expected: string, found: string) => formatError(file, field, expected, found, kPrepareAgain);
  const classCount = m.classes.length;
  if (m.task === 'binary' && classCount !== 2) throw bad('/classes', "2 class names for task 'binary'", `${classCount}`);
  if ((m.task === 'multiclass' || m.task === 'multilabel') && classCount === 0) throw bad('/classes', `at least one class name for task '${m.task}'`, 'none');
  if (m.task === 'none' && classCount !== 0) throw bad('/classes', "no class names for task 'none' (an unlabeled store)", `${classCount}`);
  const shards = new Map<string, string>();
  for (const [name, entry] of Object.entries(m.splits)) {
    const other = shards.get(entry!.shard);
    if (other !== undefined) throw bad(`/splits/${name}/shard`, `a shard of its own`, `'${entry!.shard}', the shard of '${other}' too`);
    shards.set(entry!.shard, name);
  }
  if (m.labelFractions) {
    const train = m.splits.train?.count ?? 0;
    for (const [key, entry] of Object.entries(m.labelFractions.fractions)) {
      const field = `/labelFractions/fractions/${key}`;
      const f = Number(key);
      if (!(f > 0 && f <= 1)) throw bad(field, 'a label fraction in (0, 1] as the key', `'${key}'`);
      if (entry.count > train) throw bad(`${field}/count`, `at most the train split's ${train} samples`, `${entry.count}`);
      if (f < 1 && !entry.ids) throw bad(`${field}/ids`, `the sample ids of the fraction (every fraction below 1 records them)`, 'none');
      if (entry.ids) {
        if (entry.ids.length !== entry.count) throw bad(`${field}/ids`, `${entry.count} ids (its count)`, `${entry.ids.length}`);
        const seen = new Set<number>();
        entry.ids.forEach((id, i) => {
          if (seen.has(id)) throw bad(`${field}/ids/${i}`, 'each sample id once', `${id} again`);
          seen.add(id);
        });
      }
    }
  }
}

/** The shapes and dtypes a split's tensors must have, from its manifest. */
function expectedTensors(manifest: Manifest, count: number): Record<string, { dtype: string; shape: number[] }> {
  const expected: Record<string, { dtype: string; shape: number[] }> = {
    images: { dtype: 'uint8', shape: [count, manifest.channels, ...manifest.imageSize] },
    labels: manifest.task === 'multilabel' ? { dtype: 'uint8', shape: [count, manifest.classes.length] } : { dtype: 'int64', shape: [count] },
    ids: { dtype: 'int64', shape: [count] },
  };
  if (manifest.samples) expected.patients = { dtype: 'int64', shape: [count] };
  return expected;
}

/**
 * One split's tensors, checked against the manifest (every tensor's dtype and shape; a
 * truncated shard is refused by the reader, naming the file). The caller disposes them.
 * With `patients: true`, also `patients` (an index into samples.json's `patients`), for image
 * sources; otherwise it is checked and freed here.
 */
export async function loadSplit(
  store: string,
  split: SplitName,
  options: { patients?: boolean } = {},
): Promise<{ manifest: Manifest; images: Tensor; labels: Tensor; ids: Tensor; patients?: Tensor }> {
  const manifest = await readManifest(store);
  const entry = manifest.splits[split];
  if (!entry) {
    throw new ImlmError(`${store} has no '${split}' split (it has ${Object.keys(manifest.splits).join(', ')})`, 'ERR_INVALID_ARG');
  }
  const file = path.join(store, entry.shard);
  const manifestFile = path.join(store, 'manifest.json');
  const st = await fs.stat(file).catch(() => null);
  if (!st?.isFile()) {
    throw formatError(manifestFile, `/splits/${split}/shard`, 'the name of a shard file in the store', `'${entry.shard}', which is ${st ? fileKind(st) : 'not there'}`, kPrepareAgain);
  }
  // Memory-mapped: a data set larger than memory is paged in as batches touch it.
  const { tensors } = await readSafetensors(file, { mmap: true });
  const expected = expectedTensors(manifest, entry.count);
  const problems: string[] = [];
  for (const [name, want] of Object.entries(expected)) {
    const t = tensors[name];
    if (!t) problems.push(`no '${name}' (expected ${want.dtype} [${want.shape.join(', ')}])`);
    else if (t.dtype !== want.dtype || t.shape.join() !== want.shape.join()) {
      problems.push(`'${name}' is ${t.dtype} [${t.shape.join(', ')}] (expected ${want.dtype} [${want.shape.join(', ')}])`);
    }
  }
  if (problems.length > 0) {
    for (const t of Object.values(tensors)) t.dispose();
    throw new ImlmError(
      `${file} disagrees with ${manifestFile}: ${problems.join('; ')} — the store is damaged or mixed from two preparations; prepare it again`,
      'ERR_FORMAT',
    );
  }
  const { images, labels, ids, patients } = tensors;
  if (split === 'train' && manifest.labelFractions) {
    // The label fractions name training samples by id (lib/eval/data.ts fractionRows relies on it).
    const present = new Set(Array.from(ids.toTypedArray() as BigInt64Array, Number));
    for (const [key, fraction] of Object.entries(manifest.labelFractions.fractions)) {
      const missing = fraction.ids?.find((id) => !present.has(id));
      if (missing !== undefined) {
        for (const t of Object.values(tensors)) t.dispose();
        throw formatError(manifestFile, `/labelFractions/fractions/${key}/ids`, `ids of samples in ${file}`, `${missing}, which the shard lacks`, kPrepareAgain);
      }
    }
  }
  const wanted = new Set(['images', 'labels', 'ids', ...(options.patients ? ['patients'] : [])]);
  for (const [name, t] of Object.entries(tensors)) if (!wanted.has(name)) t.dispose();
  return { manifest, images, labels, ids, ...(patients && options.patients ? { patients } : {}) };
}

/** samples.json of an image store: the source file of each id and the patient names. */
export interface SamplesSidecar {
  format: 'imlm-native/dataset-samples';
  /** files[id]: the sample's path relative to the source (every id of the listing, kept or not). */
  files: string[];
  /** patients[k]: the name of patient index k (the shards' `patients` tensor holds k). */
  patients: string[];
}

export async function readSamples(store: string): Promise<SamplesSidecar> {
  const manifest = await readManifest(store);
  if (!manifest.samples) throw new ImlmError(`${store} has no samples sidecar (stores of IDX sources have none)`, 'ERR_INVALID_ARG');
  const file = path.join(store, manifest.samples.file);
  if (!existsSync(file)) {
    throw formatError(path.join(store, 'manifest.json'), '/samples/file', 'the name of the samples file in the store', `'${manifest.samples.file}', which is not there`, kPrepareAgain);
  }
  const samples = await readJsonFile<SamplesSidecar>(file, samplesSchema, kPrepareAgain);
  if (samples.files.length !== manifest.samples.count) {
    throw formatError(file, '/files', `${manifest.samples.count} files (the count in ${path.join(store, 'manifest.json')})`, `${samples.files.length}`, kPrepareAgain);
  }
  const seen = new Set<string>();
  samples.patients.forEach((p, i) => {
    if (seen.has(p)) throw formatError(file, `/patients/${i}`, 'each patient name once (the shards index this list)', `'${p}' again`, kPrepareAgain);
    seen.add(p);
  });
  return samples;
}

/**
 * A smaller store drawn from a prepared one (`imlm-native paper --subset train=5000,val=1000,test=2000`):
 * per split a seeded sample stratified by label, keeping ids, so a whole protocol fits a small
 * machine's time budget. Its label fractions are drawn anew (nested, stratified, seeded) on the
 * subset's training split, and the manifest says what it was drawn from.
 */
import path from 'path';
import { ImlmError } from '../errors';
import { native } from '../native';
import type { Tensor } from '../tensor';
import { kDefaultLabelFractions, labelFractions, recordLabelFractions } from '../data/splits';
import { loadSplit, readManifest, writeStore, type Manifest, type SplitData, type SplitName } from '../data/store';

export type SubsetSizes = Partial<Record<SplitName, number>>;

/** Label groups of each of n rows: the class (multiclass/binary) or the 0/1 vector (multilabel, n×L bytes). */
function labelRows(labels: ArrayLike<number | bigint>, n: number): Array<number | number[]> {
  const width = labels.length / Math.max(1, n);
  if (labels instanceof Uint8Array) {
    return Array.from({ length: n }, (_, i) => Array.from(labels.subarray(i * width, (i + 1) * width), Number));
  }
  return Array.from({ length: n }, (_, i) => Number(labels[i]));
}

/** Parses 'train=5000,val=1000,test=2000'. */
export function parseSubsetSizes(text: string): SubsetSizes {
  const out: SubsetSizes = {};
  for (const part of text.split(',')) {
    const m = /^(train|val|test)=(\d+)$/.exec(part.trim());
    if (!m || Number(m[2]) < 1) throw new ImlmError(`Expected --subset like 'train=5000,val=1000,test=2000' but received '${text}'`, 'ERR_INVALID_ARG');
    out[m[1] as SplitName] = Number(m[2]);
  }
  return out;
}

export async function writeSubsetStore(store: string, out: string, sizes: SubsetSizes, options: { seed?: number; fractions?: number[]; overwrite?: boolean } = {}): Promise<Manifest> {
  const seed = options.seed ?? 0;
  const source = await readManifest(store);
  const splits: Partial<Record<SplitName, SplitData>> = {};
  for (const name of Object.keys(source.splits) as SplitName[]) {
    const split = await loadSplit(store, name);
    const owned: Tensor[] = [split.images, split.labels, split.ids];
    try {
      const n = split.ids.shape[0];
      const want = Math.min(sizes[name] ?? n, n);
      // labelFractions gives a stratified, seeded subset of about want/n of every label group.
      const rows = want >= n ? Array.from({ length: n }, (_, i) => i) : labelFractions(labelRows(split.labels.toTypedArray() as BigInt64Array | Uint8Array, n), [want / n], seed).get(want / n)!;
      const pick = async (t: Tensor) => {
        const picked = await native().selectRows(t, rows);
        owned.push(picked);
        return picked.toTypedArray();
      };
      splits[name] = {
        images: (await pick(split.images)) as Uint8Array,
        labels: (await pick(split.labels)) as BigInt64Array | Uint8Array,
        ids: (await pick(split.ids)) as BigInt64Array,
      };
    } finally {
      for (const t of owned) t.dispose();
    }
  }
  const train = splits.train;
  const recorded =
    train && source.task !== 'none'
      ? recordLabelFractions(labelRows(train.labels, train.ids.length), Array.from(train.ids, Number), options.fractions ?? kDefaultLabelFractions, seed)
      : undefined;
  return writeStore(
    out,
    {
      manifest: {
        sourceFormat: source.sourceFormat,
        source: path.resolve(store),
        task: source.task,
        classes: source.classes,
        channels: source.channels,
        imageSize: source.imageSize,
        splitMethod: `a seeded, label-stratified subset (${Object.entries(sizes).map(([k, v]) => `${k} ${v}`).join(', ')}) of ${path.resolve(store)}, whose splits were: ${source.splitMethod}`,
        seed,
        preparation: { subsetOf: path.resolve(store), sizes, sourceContentHash: source.contentHash },
        labelFractions: recorded,
        skipped: [],
      },
      splits,
    },
    { overwrite: options.overwrite },
  );
}

/**
 * `prepare <format>` for image sources: lists the source (importers/), divides it (split lists,
 * the source's own division, or seeded patient-level splits), decodes every image in parallel
 * straight into its split's shard (shard-writer.ts), and writes samples.json and manifest.json —
 * all in a temporary folder renamed into place at the end.
 *
 * Memory: the listing (a path, a label and a patient per sample: ~200 bytes each, ~25 MB for
 * NIH's 112k images) plus `concurrency` images in flight. Decoded rows go to disk at once, so the
 * JS heap never holds the data set (NIH at 224² × 1 channel is a 5.6 GB shard, written in place).
 */
import { promises as fs } from 'fs';
import os from 'os';
import path from 'path';
import { writeJsonAtomic } from '../atomic-write';
import { ImlmError } from '../errors';
import { packageVersion } from '../version';
import { DicomDecoderPool } from './dicom-pool';
import { decodeImageFile, decodeRawImage, type DecodeOptions } from './decode-image';
import { listBchIdc } from './importers/bch-idc';
import { listDicom } from './importers/dicom';
import { listEyepacsDr } from './importers/eyepacs-dr';
import { listFolder, listUnlabeled } from './importers/folder';
import { listNihCxr14 } from './importers/nih-cxr14';
import type { ImportOptions, SourceListing } from './importers/source';
import { listTable } from './importers/table';
import { fileKind } from './json-file';
import { ShardWriter } from './shard-writer';
import { assignSplitLists, readSplitList, type SplitListSpec } from './split-lists';
import { kDefaultLabelFractions, patientSplits, recordLabelFractions, type Split } from './splits';
import { beginStore, commitStore, sha256Of, type Manifest, type SamplesSidecar } from './store';

export const kImageFormats = ['nih-cxr14', 'eyepacs-dr', 'bch-idc', 'folder', 'csv', 'unlabeled', 'dicom'] as const;
export type ImageFormat = (typeof kImageFormats)[number];

const kSplitOrder: Split[] = ['train', 'val', 'test'];
const kDefaultShares = { train: 0.7, val: 0.2, test: 0.1 };
/** How many skipped files the failure message lists before "and N more". */
const kListedSkips = 50;

export interface PrepareImagesOptions extends ImportOptions {
  /** Side of the square images in the store (default 224). */
  size?: number;
  /** Resize the longer side and pad to a square with black, instead of resizing the shorter side and centre-cropping. */
  pad?: boolean;
  /** 1 (grey) or 3 (RGB); default per format (1 for nih-cxr14 and dicom, else 3). */
  channels?: 1 | 3;
  /** 16-bit images to 8 bits: 'range' (v / 257, default) or 'minmax' (per image). */
  depth16?: 'range' | 'minmax';
  /** The paper's split files; samples in no list are excluded (or, with unlisted 'train', train). */
  splitLists?: SplitListSpec[];
  unlisted?: 'exclude' | 'train';
  /** Patient shares for seeded splits (default 70/20/10; unlabeled sources 100/0/0). */
  shares?: { train: number; val: number; test: number };
  /** Images decoded at once (default: the number of CPUs). */
  concurrency?: number;
  overwrite?: boolean;
  seed?: number;
  /** Label fractions of the training split (default 0.01, 0.06, 1). */
  fractions?: number[];
  /** Largest share of images that may be skipped as unreadable before prepare fails (default 0.01). */
  maxSkipped?: number;
  onProgress?: (p: { done: number; total: number; skipped: number }) => void;
  onWarning?: (message: string) => void;
}

export function listSource(format: ImageFormat, source: string, options: ImportOptions): Promise<SourceListing> {
  switch (format) {
    case 'nih-cxr14':
      return listNihCxr14(source);
    case 'eyepacs-dr':
      return listEyepacsDr(source, options);
    case 'bch-idc':
      return listBchIdc(source);
    case 'folder':
      return listFolder(source, options);
    case 'unlabeled':
      return listUnlabeled(source, options);
    case 'dicom':
      return listDicom(source, options);
    case 'csv':
      return listTable(source, path.dirname(source), options, 'image', 3);
    default:
      throw new ImlmError(`Expected a format among idx, ${kImageFormats.join(', ')} but received '${format as string}'`, 'ERR_INVALID_ARG');
  }
}

function checkOptions(o: PrepareImagesOptions): void {
  const bad = (what: string, expected: string, got: unknown) => {
    throw new ImlmError(`Expected ${expected} for ${what} but received ${JSON.stringify(got)}`, 'ERR_INVALID_ARG');
  };
  if (o.size !== undefined && !(Number.isInteger(o.size) && o.size >= 1 && o.size <= 8192)) bad('size', 'an integer 1..8192', o.size);
  if (o.channels !== undefined && o.channels !== 1 && o.channels !== 3) bad('channels', '1 or 3', o.channels);
  if (o.depth16 !== undefined && o.depth16 !== 'range' && o.depth16 !== 'minmax') bad('depth16', "'range' or 'minmax'", o.depth16);
  if (o.concurrency !== undefined && !(Number.isInteger(o.concurrency) && o.concurrency >= 1)) bad('concurrency', 'an integer ≥ 1', o.concurrency);
  if (o.maxSkipped !== undefined && !(o.maxSkipped >= 0 && o.maxSkipped <= 1)) bad('maxSkipped', 'a share in [0, 1]', o.maxSkipped);
  if (o.seed !== undefined && !(Number.isInteger(o.seed) && o.seed >= 0)) bad('seed', 'an integer ≥ 0', o.seed);
  if (o.unlisted !== undefined && o.unlisted !== 'exclude' && o.unlisted !== 'train') bad('unlisted', "'exclude' or 'train'", o.unlisted);
}

/** Decides each sample's split; null = excluded. */
async function divide(listing: SourceListing, options: PrepareImagesOptions, seed: number) {
  if (options.splitLists && options.splitLists.length > 0) {
    const lists = await Promise.all(options.splitLists.map(readSplitList));
    const { splits, report } = assignSplitLists(listing.samples, lists);
    for (const r of report) {
      if (r.labelMismatches > 0) options.onWarning?.(`${r.file}: ${r.labelMismatches} of ${r.matched} images have other labels in the list than in the source (e.g. ${r.mismatchExamples.slice(0, 3).join(', ')}); the source's labels are kept`);
      if (r.notInSource > 0) options.onWarning?.(`${r.file}: ${r.notInSource} of ${r.rows} listed images are not in the source`);
    }
    const unlisted = options.unlisted ?? 'exclude';
    const final = splits.map((s) => s ?? (unlisted === 'train' ? 'train' : null));
    const method = `the split lists ${lists.map((l) => `${l.split}=${l.file}`).join(', ')}; images in no list ${unlisted === 'train' ? "go to 'train'" : 'are excluded'}`;
    return { splits: final, method, splitLists: report, unlisted };
  }
  const shares = options.shares ?? listing.defaultShares ?? kDefaultShares;
  if (listing.division) {
    const open = listing.samples.filter((s) => !s.split);
    if (open.length === 0) return { splits: listing.samples.map((s) => s.split!), method: `the source's own division: ${listing.division}` };
    const trainVal = { train: shares.train / (shares.train + shares.val), val: shares.val / (shares.train + shares.val), test: 0 };
    const drawn = patientSplits(open.map((s) => s.patient), seed, trainVal);
    let k = 0;
    const splits = listing.samples.map((s) => s.split ?? drawn[k++]);
    const fixedPatients = new Set(listing.samples.filter((s) => s.split).map((s) => s.patient));
    const straddling = new Set(open.filter((s) => fixedPatients.has(s.patient)).map((s) => s.patient));
    if (straddling.size > 0) {
      options.onWarning?.(`${straddling.size} patient(s) have images both in and outside the source's fixed split (e.g. ${[...straddling].slice(0, 3).join(', ')}): ${listing.division}`);
    }
    return {
      splits,
      method: `the source's own division: ${listing.division} (seed ${seed}, train:val ${shares.train}:${shares.val})`,
      shares,
    };
  }
  const splits = patientSplits(listing.samples.map((s) => s.patient), seed, shares);
  return {
    splits,
    method: `seeded patient-level split (seed ${seed}): patients shuffled and cut at train ${shares.train} / val ${shares.val} / test ${shares.test}, so no patient is in two splits`,
    shares,
  };
}

/**
 * Runs `work` over 0..n-1 with at most `concurrency` at a time; after a failure (e.g. a full
 * disk) no new item starts, the running ones finish, and the first error is thrown.
 */
async function pool(n: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const lanes = Array.from({ length: Math.min(concurrency, n) }, async () => {
    while (next < n && !failed) {
      try {
        await work(next++);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  });
  const results = await Promise.allSettled(lanes);
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}

export async function prepareImages(format: ImageFormat, source: string, out: string, options: PrepareImagesOptions = {}): Promise<Manifest> {
  checkOptions(options);
  const seed = options.seed ?? 0;
  const listing = await listSource(format, path.resolve(source), options);
  for (const s of listing.skipped ?? []) options.onWarning?.(`left out ${path.join(listing.root, s.file)}: ${s.reason}`);
  const decode: DecodeOptions = {
    size: options.size ?? 224,
    pad: options.pad ?? false,
    channels: options.channels ?? listing.defaultChannels,
    depth16: options.depth16 ?? 'range',
  };
  const division = await divide(listing, options, seed);
  const { samples, task } = listing;
  const patientNames = [...new Set(samples.map((s) => s.patient))].sort();
  const patientIndex = new Map(patientNames.map((p, i) => [p, i]));
  // Each split's sample indices in id (listing) order: the shard's planned rows.
  const planned: Partial<Record<Split, number[]>> = {};
  division.splits.forEach((split, i) => {
    if (split) (planned[split] ??= []).push(i);
  });
  const excludedCount = division.splits.filter((s) => s === null).length;
  const total = samples.length - excludedCount;
  if (total === 0) throw new ImlmError(`no image of ${source} is in any split (check --split-list)`, 'ERR_INVALID_ARG');

  const temp = await beginStore(out, { overwrite: options.overwrite });
  const writers: Partial<Record<Split, ShardWriter>> = {};
  const concurrency = options.concurrency ?? Math.max(1, os.availableParallelism());
  const dicom = listing.decoder === 'dicom' ? new DicomDecoderPool(Math.min(concurrency, os.availableParallelism())) : null;
  try {
    const labelWidth = task === 'multilabel' ? listing.classes.length : null;
    for (const split of kSplitOrder) {
      if (!planned[split]) continue;
      writers[split] = await ShardWriter.create(path.join(temp, `${split}.safetensors`), planned[split]!.length, { channels: decode.channels, height: decode.size, width: decode.size, labelWidth }, {
        format: 'imlm-native/dataset-shard',
        split,
      });
    }
    const jobs = kSplitOrder.flatMap((split) => (planned[split] ?? []).map((sample, slot) => ({ split, sample, slot })));
    const ok = new Uint8Array(samples.length);
    const skipped: Array<{ file: string; reason: string }> = [];
    let done = 0;
    const maxSkipped = options.maxSkipped ?? 0.01;
    await pool(jobs.length, concurrency, async (j) => {
      const { split, sample, slot } = jobs[j];
      const file = path.join(listing.root, samples[sample].file);
      let row: Uint8Array | null = null;
      // Checked again here (the listing checked it too): a FIFO or device must never be opened.
      const st = await fs.stat(file).catch((e: Error) => e);
      if (st instanceof Error || !st.isFile()) {
        const reason = st instanceof Error ? `cannot read (${st.message})` : `${fileKind(st)}, not a regular file: left out without being opened`;
        skipped.push({ file: samples[sample].file, reason });
        options.onWarning?.(`skipped ${file}: ${reason}`);
      } else {
        try {
          row = dicom ? await decodeRawImage(await dicom.decode(file), decode) : await decodeImageFile(file, decode);
        } catch (e) {
          const message = (e as Error).message;
          // sharp's messages can be bare ("Unknown error" for a truncated PNG): say what it means.
          const reason = listing.decoder === 'dicom' ? message : `cannot decode (${message}): corrupt, truncated or not an image`;
          skipped.push({ file: samples[sample].file, reason });
          options.onWarning?.(`skipped ${file}: ${reason}`);
        }
      }
      if (row) {
        await writers[split]!.writeRow(slot, row);
        ok[sample] = 1;
      }
      done++;
      options.onProgress?.({ done, total, skipped: skipped.length });
    });
    await dicom?.close();
    // Completion order varies with concurrency; the manifest's list must not.
    skipped.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
    // Every image is tried first, so the error lists all unreadable files at once.
    if (skipped.length > maxSkipped * total) {
      const listed = skipped.slice(0, kListedSkips).map((s) => `  ${s.file}: ${s.reason}`).join('\n');
      throw new ImlmError(
        `${skipped.length} of ${total} images (${((100 * skipped.length) / total).toFixed(2)}%) could not be read, more than the allowed ${(100 * maxSkipped).toFixed(2)}% ` +
          `(--max-skipped); fix or remove them, or raise --max-skipped:\n${listed}${skipped.length > kListedSkips ? `\n  … and ${skipped.length - kListedSkips} more` : ''}`,
        'ERR_FORMAT',
      );
    }

    const splits: Manifest['splits'] = {};
    let trainKept: number[] = [];
    for (const split of kSplitOrder) {
      const writer = writers[split];
      if (!writer) continue;
      const slots: number[] = [];
      const kept: number[] = [];
      planned[split]!.forEach((sample, slot) => {
        if (ok[sample]) {
          slots.push(slot);
          kept.push(sample);
        }
      });
      const ids = BigInt64Array.from(kept, (i) => BigInt(i));
      const patients = BigInt64Array.from(kept, (i) => BigInt(patientIndex.get(samples[i].patient)!));
      let labels: BigInt64Array | Uint8Array;
      if (labelWidth !== null) {
        labels = new Uint8Array(kept.length * labelWidth);
        kept.forEach((i, r) => (labels as Uint8Array).set(samples[i].label as Uint8Array, r * labelWidth));
      } else {
        labels = BigInt64Array.from(kept, (i) => BigInt(samples[i].label === null ? -1 : (samples[i].label as number)));
      }
      delete writers[split];
      await writer.finish(slots, ids, labels, patients);
      splits[split] = { count: kept.length, shard: `${split}.safetensors` };
      if (split === 'train') trainKept = kept;
    }

    const sidecar: SamplesSidecar = { format: 'imlm-native/dataset-samples', files: samples.map((s) => s.file), patients: patientNames };
    await fs.writeFile(path.join(temp, 'samples.json'), JSON.stringify(sidecar));
    const fractions = options.fractions ?? kDefaultLabelFractions;
    const recordedFractions =
      task !== 'none' && trainKept.length > 0
        ? recordLabelFractions(
            trainKept.map((i) => (labelWidth !== null ? Array.from(samples[i].label as Uint8Array) : (samples[i].label as number))),
            trainKept,
            fractions,
            seed,
          )
        : undefined;
    const shardFiles = kSplitOrder.filter((s) => splits[s]).map((s) => path.join(temp, `${s}.safetensors`));
    const manifest: Manifest = {
      format: 'imlm-native/dataset',
      formatVersion: 1,
      sourceFormat: format,
      source: path.resolve(source),
      task,
      classes: listing.classes,
      channels: decode.channels,
      imageSize: [decode.size, decode.size],
      splits,
      splitMethod: division.method,
      seed,
      preparation: {
        resize: decode.pad ? 'longer side to size, padded to a square with black' : 'shorter side to size, centre crop',
        resampling: 'bilinear, antialiased (libvips)',
        size: decode.size,
        channels: decode.channels,
        depth16: decode.depth16,
        maxSkipped,
        fractions,
        ...('shares' in division ? { shares: division.shares } : {}),
        ...('splitLists' in division ? { splitLists: division.splitLists, unlisted: division.unlisted } : {}),
        ...importerOptions(format, options),
      },
      ...(recordedFractions ? { labelFractions: recordedFractions } : {}),
      // Files left out while listing the source (links, non-regular files), then unreadable images.
      skipped: [...(listing.skipped ?? []), ...skipped].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0)),
      samples: { file: 'samples.json', count: samples.length },
      ...(excludedCount > 0
        ? {
            excluded: {
              count: excludedCount,
              reason: 'in no --split-list',
              examples: samples.filter((_, i) => division.splits[i] === null).slice(0, 10).map((s) => s.file),
            },
          }
        : {}),
      contentHash: `sha256:${await sha256Of([...shardFiles, path.join(temp, 'samples.json')])}`,
      created: new Date().toISOString(),
      imlmNativeVersion: packageVersion,
    };
    await writeJsonAtomic(path.join(temp, 'manifest.json'), manifest);
    await commitStore(temp, out);
    return manifest;
  } catch (e) {
    await dicom?.close();
    for (const writer of Object.values(writers)) await writer!.abandon();
    await fs.rm(temp, { recursive: true, force: true });
    throw e;
  }
}

/** The importer options that shaped the labels, for the manifest. */
function importerOptions(format: ImageFormat, o: PrepareImagesOptions): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  if (format === 'eyepacs-dr') picked.drLabels = o.drLabels ?? 'referable';
  for (const key of ['labelsFile', 'pathColumn', 'labelColumn', 'labelColumns', 'patientColumn', 'splitColumn', 'classes', 'patientPattern'] as const) {
    if (o[key] !== undefined) picked[key] = o[key];
  }
  return picked;
}

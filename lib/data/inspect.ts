/**
 * `imlm-native inspect <store>`: what a prepared data set holds (counts per split and class)
 * and what training will see — PNG contact sheets of samples and of augmented view pairs
 * (original | view 1 | view 2), drawn with the same native augmentation the trainer uses.
 */
import { promises as fs } from 'fs';
import path from 'path';
import { loadSharp } from '../lazy-modules';
import { writeJsonAtomic } from '../atomic-write';
import { ImlmError } from '../errors';
import { native } from '../native';
import type { Tensor } from '../tensor';
import { augmentBatch } from './augment';
import { resolvePolicy, type AugmentPolicy } from './policies';
import { seededPermutation } from './splits';
import { loadSplit, readManifest, type Manifest, type SplitName } from './store';
import { kRunDefaults } from '../config/train-config';

export interface SplitCounts {
  count: number;
  /** Per class name: samples of that class (multiclass/binary) or positives (multilabel). */
  perClass: Record<string, number>;
  /** Multilabel only: samples with no positive label (e.g. NIH's "No Finding"). */
  noLabel?: number;
}

export interface InspectOptions {
  /** Folder for the PNGs and sheet legends (created); none: counts only. */
  out?: string;
  /** Split the pictures are drawn from (default: train). */
  split?: SplitName;
  /** Samples on the sample sheet (default 64) and pairs on the views sheet (default 16). */
  samples?: number;
  pairs?: number;
  /** Augmentation policy (name, file or object) for the view pairs (default mocov2). */
  policy?: string | Partial<AugmentPolicy>;
  seed?: number;
}

export interface InspectResult {
  store: string;
  task: Manifest['task'];
  classes: string[];
  imageSize: [number, number];
  channels: number;
  splits: Partial<Record<SplitName, SplitCounts>>;
  skipped: number;
  files: string[];
}

function countLabels(manifest: Manifest, labels: Tensor): SplitCounts {
  if (manifest.task === 'none') return { count: labels.shape[0] ?? 0, perClass: {} }; // unlabeled (SSL only)
  const values = labels.toTypedArray();
  const perClass: Record<string, number> = Object.fromEntries(manifest.classes.map((c) => [c, 0]));
  if (labels.shape.length === 2) {
    const [n, l] = labels.shape;
    let noLabel = 0;
    for (let i = 0; i < n; i++) {
      let any = false;
      for (let j = 0; j < l; j++) {
        if (Number(values[i * l + j])) {
          perClass[manifest.classes[j] ?? String(j)] += 1;
          any = true;
        }
      }
      if (!any) noLabel += 1;
    }
    return { count: n, perClass, noLabel };
  }
  for (const v of values as BigInt64Array) {
    const name = manifest.classes[Number(v)] ?? String(v);
    perClass[name] = (perClass[name] ?? 0) + 1;
  }
  return { count: labels.shape[0] ?? 0, perClass };
}

/** One tile: sample `index` of an N×H×W×3 uint8 tensor. */
interface Tile {
  rgb: Tensor;
  index: number;
}

/** A grid PNG of tiles (all the same size), `columns` wide, 2-pixel gaps, composed by sharp. */
async function writeSheet(file: string, tiles: Tile[], columns: number): Promise<void> {
  const [, height, width] = tiles[0].rgb.shape;
  const gap = 2;
  const rows = Math.ceil(tiles.length / columns);
  const pixels = new Map<Tensor, Uint8Array>();
  const composites = tiles.map(({ rgb, index }, i) => {
    let bytes = pixels.get(rgb);
    if (!bytes) pixels.set(rgb, (bytes = rgb.toTypedArray() as Uint8Array));
    const size = height * width * 3;
    return {
      input: Buffer.from(bytes.buffer, bytes.byteOffset + index * size, size),
      raw: { width, height, channels: 3 as const },
      left: gap + (i % columns) * (width + gap),
      top: gap + Math.floor(i / columns) * (height + gap),
    };
  });
  const sheetWidth = gap + columns * (width + gap), sheetHeight = gap + rows * (height + gap);
  const sheet = loadSharp()({ create: { width: sheetWidth, height: sheetHeight, channels: 3, background: { r: 32, g: 32, b: 32 } } }).composite(composites);
  // Small images (28² Fashion-MNIST, 50² BCH patches) are enlarged by a whole factor with
  // nearest-neighbour, so every source pixel stays a visible, unblurred square.
  const factor = Math.max(1, Math.ceil(kMinTileSide / Math.min(height, width)));
  // Compositing adds an alpha channel; the sheets are opaque RGB.
  if (factor === 1) {
    await sheet.removeAlpha().png().toFile(file);
    return;
  }
  const { data, info } = await sheet.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  await loadSharp()(data, { raw: { width: info.width, height: info.height, channels: info.channels } })
    .resize(sheetWidth * factor, sheetHeight * factor, { kernel: 'nearest' })
    .png()
    .toFile(file);
}

/** Tiles smaller than this (pixels) are enlarged on the sheets. */
export const kMinTileSide = 96;

export async function inspectStore(store: string, options: InspectOptions = {}): Promise<InspectResult> {
  const manifest = await readManifest(store);
  const result: InspectResult = {
    store: path.resolve(store),
    task: manifest.task,
    classes: manifest.classes,
    imageSize: manifest.imageSize,
    channels: manifest.channels,
    splits: {},
    skipped: manifest.skipped?.length ?? 0,
    files: [],
  };
  for (const name of Object.keys(manifest.splits) as SplitName[]) {
    const split = await loadSplit(store, name);
    try {
      result.splits[name] = countLabels(manifest, split.labels);
    } finally {
      for (const t of [split.images, split.labels, split.ids]) t.dispose();
    }
  }
  if (!options.out) return result;

  const splitName = options.split ?? 'train';
  if (!manifest.splits[splitName]) {
    throw new ImlmError(`${store} has no '${splitName}' split (it has ${Object.keys(manifest.splits).join(', ')})`, 'ERR_INVALID_ARG');
  }
  const policy = resolvePolicy(options.policy ?? kRunDefaults.augment);
  const seed = options.seed ?? 0;
  await fs.mkdir(options.out, { recursive: true });
  const split = await loadSplit(store, splitName);
  const owned: Tensor[] = [split.images, split.labels, split.ids];
  try {
    const count = split.images.shape[0];
    const order = Array.from(seededPermutation(count, seed));
    const samples = order.slice(0, Math.min(options.samples ?? 64, count)).sort((a, b) => a - b);
    const pairs = order.slice(0, Math.min(options.pairs ?? 16, count)).sort((a, b) => a - b);

    const picked = await native().selectRows(split.images, samples);
    owned.push(picked);
    const rgb = await native().toRgbBytes(picked);
    owned.push(rgb);
    const columns = Math.ceil(Math.sqrt(samples.length));
    const samplesFile = path.join(options.out, 'samples.png');
    await writeSheet(samplesFile, samples.map((_, index) => ({ rgb, index })), columns);

    // Two independent views of each pair image, at the store's size, with the trainer's kernels.
    const originals = await native().selectRows(split.images, pairs);
    owned.push(originals);
    const size = manifest.imageSize[0];
    const sheets: Tensor[] = [];
    for (const [i, pol] of [[0, 'none'], [1, policy], [2, policy]] as const) {
      const { images, params } = await augmentBatch(originals, pol, size, seed + i);
      owned.push(images, ...Object.values(params));
      const bytes = await native().toRgbBytes(images);
      owned.push(bytes);
      sheets.push(bytes);
    }
    const viewsFile = path.join(options.out, 'views.png');
    await writeSheet(viewsFile, pairs.flatMap((_, index) => sheets.map((rgb) => ({ rgb, index }))), 6);

    const values = split.labels.toTypedArray();
    const labelsOf = (row: number): string[] => {
      if (manifest.task === 'none') return [];
      if (split.labels.shape.length === 2) {
        const l = split.labels.shape[1];
        return manifest.classes.filter((_, j) => Number(values[row * l + j]));
      }
      return [manifest.classes[Number(values[row])] ?? String(values[row])];
    };
    const ids = split.ids.toTypedArray() as BigInt64Array;
    const legend = {
      split: splitName,
      seed,
      policy,
      samples: { file: 'samples.png', columns, tiles: samples.map((r) => ({ id: Number(ids[r]), labels: labelsOf(r) })) },
      views: { file: 'views.png', columns: 6, layout: 'original | view 1 | view 2, two pairs a row', tiles: pairs.map((r) => ({ id: Number(ids[r]), labels: labelsOf(r) })) },
    };
    const legendFile = path.join(options.out, 'legend.json');
    await writeJsonAtomic(legendFile, legend);
    result.files = [samplesFile, viewsFile, legendFile];
    return result;
  } finally {
    for (const t of owned) t.dispose();
  }
}

/**
 * `prepare idx`: IDX image/label files (e.g. /usr/share/datasets/fashion-mnist) into a store,
 * keeping the source's train/test division and drawing a seeded validation split from train.
 */
import { existsSync } from 'fs';
import path from 'path';
import { ImlmError } from '../errors';
import { readIdx } from './idx';
import { kDefaultLabelFractions, recordLabelFractions, seededPermutation } from './splits';
import { writeStore, type Manifest, type SplitData } from './store';

/** Fashion-MNIST's classes, in label order. */
export const kFashionMnistClasses = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];

export interface PrepareIdxOptions {
  /** Fraction of the source's training images that become the validation split. */
  valFraction?: number;
  seed?: number;
  overwrite?: boolean;
  /** Class names; default Fashion-MNIST's when there are 10 classes, else the label values. */
  classes?: string[];
  /** Label fractions of the training split to record (default 1%, 6%, 100%). */
  fractions?: number[];
}

function findFile(dir: string, prefix: string): string {
  for (const name of [`${prefix}-ubyte.gz`, `${prefix}-ubyte`, `${prefix.replace(/-idx/, '.idx')}-ubyte`]) {
    const file = path.join(dir, name);
    if (existsSync(file)) return file;
  }
  throw new ImlmError(`${dir} has no ${prefix}-ubyte(.gz) file (expected the MNIST layout: train-images-idx3-ubyte.gz, …)`, 'ERR_INVALID_ARG');
}

async function readPair(dir: string, part: 'train' | 't10k') {
  const images = await readIdx(findFile(dir, `${part}-images-idx3`));
  const labels = await readIdx(findFile(dir, `${part}-labels-idx1`));
  if (images.shape.length !== 3 || labels.shape.length !== 1 || images.shape[0] !== labels.shape[0]) {
    throw new ImlmError(
      `${dir}: ${part} images [${images.shape.join(', ')}] and labels [${labels.shape.join(', ')}] do not match (expected [N, H, W] and [N])`,
      'ERR_FORMAT',
    );
  }
  return { images, labels };
}

function subset(images: Uint8Array, labels: Uint8Array, pixels: number, rows: ArrayLike<number>, idOffset: number): SplitData {
  const out: SplitData = {
    images: new Uint8Array(rows.length * pixels),
    labels: new BigInt64Array(rows.length),
    ids: new BigInt64Array(rows.length),
  };
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    out.images.set(images.subarray(r * pixels, (r + 1) * pixels), i * pixels);
    (out.labels as BigInt64Array)[i] = BigInt(labels[r]);
    out.ids[i] = BigInt(idOffset + r);
  }
  return out;
}

export async function prepareIdx(source: string, out: string, options: PrepareIdxOptions = {}): Promise<Manifest> {
  const valFraction = options.valFraction ?? 0.1;
  const seed = options.seed ?? 0;
  if (!(valFraction >= 0 && valFraction < 1)) {
    throw new ImlmError(`Expected a validation fraction in [0, 1) but received ${valFraction}`, 'ERR_INVALID_ARG');
  }
  const train = await readPair(source, 'train');
  const test = await readPair(source, 't10k');
  const [n, height, width] = train.images.shape;
  if (test.images.shape[1] !== height || test.images.shape[2] !== width) {
    throw new ImlmError(`${source}: train images are ${height}×${width} but test images ${test.images.shape[1]}×${test.images.shape[2]}`, 'ERR_FORMAT');
  }
  const pixels = height * width;
  const order = seededPermutation(n, seed);
  const valCount = Math.round(n * valFraction);
  // Sorted within each split, so shards keep the source's order.
  const valRows = Array.from(order.subarray(0, valCount)).sort((a, b) => a - b);
  const trainRows = Array.from(order.subarray(valCount)).sort((a, b) => a - b);
  const trainSplit = subset(train.images.data, train.labels.data, pixels, trainRows, 0);
  const recordedFractions = recordLabelFractions(
    Array.from(trainSplit.labels as BigInt64Array, Number),
    Array.from(trainSplit.ids, Number),
    options.fractions ?? kDefaultLabelFractions,
    seed,
  );
  let maxLabel = 0;
  for (const v of train.labels.data) maxLabel = Math.max(maxLabel, v);
  for (const v of test.labels.data) maxLabel = Math.max(maxLabel, v);
  const classes = options.classes ?? (maxLabel === 9 ? kFashionMnistClasses : Array.from({ length: maxLabel + 1 }, (_, i) => String(i)));
  return writeStore(
    out,
    {
      manifest: {
        sourceFormat: 'idx',
        source: path.resolve(source),
        task: classes.length === 2 ? 'binary' : 'multiclass',
        classes,
        channels: 1,
        imageSize: [height, width],
        splitMethod: `the source's test files are 'test'; a seeded ${Math.round(valFraction * 100)}% of its training files is 'val' (ids 0..${n - 1} are training rows, ${n}.. test rows)`,
        seed,
        preparation: { valFraction },
        labelFractions: recordedFractions,
        skipped: [],
      },
      splits: {
        train: trainSplit,
        val: subset(train.images.data, train.labels.data, pixels, valRows, 0),
        test: subset(test.images.data, test.labels.data, pixels, Array.from({ length: test.images.shape[0] }, (_, i) => i), n),
      },
    },
    { overwrite: options.overwrite },
  );
}

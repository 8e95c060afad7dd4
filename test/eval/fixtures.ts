/** Small synthetic stores and checkpoints for the evaluation tests (seconds on 2 CPU cores). */
import path from 'path';
import { Trainer, syntheticSource } from '../../lib';
import { labelFractions } from '../../lib/data/splits';
import { writeStore, type SplitData, type Task } from '../../lib/data/store';
import { tinyConfig } from '../helpers/configs';

/** xorshift32 in [0, 1): the fixtures are the same on every run. */
function random(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

export interface SyntheticStoreOptions {
  task?: Task;
  /** Classes (multiclass/binary) or labels (multilabel). */
  classes?: number;
  size?: number;
  counts?: { train: number; val: number; test: number };
  /** Label fractions recorded in the manifest (besides 1). */
  fractions?: number[];
  seed?: number;
  /** The class squares get noise + U(0, contrast) instead of a bright 200–255 (default: trivially separable). */
  contrast?: number;
}

/**
 * An easy, linearly separable task: class c (or label c) lights a bright square in its own
 * quadrant of an otherwise noisy dark image, so even a random network's pooled features
 * separate the classes.
 */
export async function writeSyntheticStore(out: string, options: SyntheticStoreOptions = {}) {
  const task = options.task ?? 'multiclass';
  const classes = options.classes ?? (task === 'binary' ? 2 : 3);
  const size = options.size ?? 8;
  const contrast = options.contrast;
  const counts = options.counts ?? { train: 120, val: 60, test: 60 };
  const next = random(options.seed ?? 7);
  const pixels = size * size;
  const half = size / 2;
  let nextId = 0;
  const makeSplit = (n: number): SplitData => {
    const images = new Uint8Array(n * pixels);
    const ids = new BigInt64Array(n);
    const single = new BigInt64Array(n);
    const multi = new Uint8Array(n * classes);
    for (let i = 0; i < n; i++) {
      const on: number[] = [];
      if (task === 'multilabel') {
        for (let c = 0; c < classes; c++) if (next() < 0.4) on.push(c);
        on.forEach((c) => (multi[i * classes + c] = 1));
      } else {
        const c = i % classes;
        single[i] = BigInt(c);
        on.push(c);
      }
      for (let p = 0; p < pixels; p++) images[i * pixels + p] = Math.floor(next() * 60);
      for (const c of on) {
        const y0 = (Math.floor(c / 2) % 2) * half;
        const x0 = (c % 2) * half;
        for (let y = y0; y < y0 + half; y++) for (let x = x0; x < x0 + half; x++) images[i * pixels + y * size + x] = contrast === undefined ? 200 + Math.floor(next() * 55) : Math.floor(next() * 60 + next() * contrast);
      }
      ids[i] = BigInt(nextId++);
    }
    return { images, labels: task === 'multilabel' ? multi : single, ids };
  };
  const train = makeSplit(counts.train);
  const val = makeSplit(counts.val);
  const test = makeSplit(counts.test);
  const fractions = options.fractions ?? [0.25, 0.5];
  const labels =
    task === 'multilabel'
      ? Array.from({ length: counts.train }, (_, i) => Array.from(train.labels.subarray(i * classes, (i + 1) * classes) as Uint8Array))
      : Array.from(train.labels as BigInt64Array, Number);
  const chosen = labelFractions(labels, fractions, 3);
  return writeStore(out, {
    manifest: {
      sourceFormat: 'synthetic',
      source: out,
      task,
      classes: Array.from({ length: classes }, (_, c) => `class${c}`),
      channels: 1,
      imageSize: [size, size],
      splitMethod: 'synthetic',
      seed: 0,
      preparation: {},
      labelFractions: {
        seed: 3,
        stratifiedBy: 'label',
        nested: true,
        fractions: {
          ...Object.fromEntries(fractions.map((f) => [String(f), { count: chosen.get(f)!.length, ids: chosen.get(f)!.map((r) => Number(train.ids[r])) }])),
          '1': { count: counts.train },
        },
      },
      skipped: [],
    },
    splits: { train, val, test },
  });
}

/**
 * A tiny ResNet-18 (small stem, 1 channel, 8×8) after a few MoCo steps (so BatchNorm's running
 * statistics are not the identity), saved as a training state and as a backbone.
 */
export async function writeCheckpoints(dir: string, seed = 1): Promise<{ state: string; backbone: string }> {
  const trainer = await Trainer.create(tinyConfig({ inChannels: 1, imageSize: 8, seed }));
  await trainer.run(syntheticSource({ channels: 1, imageSize: 8, batchSize: 8, poolSize: 32, seed, prefetch: 0 }), { steps: 3 });
  const state = path.join(dir, 'last.safetensors');
  const backbone = path.join(dir, 'backbone.safetensors');
  await trainer.save(state);
  await trainer.exportBackbone(backbone);
  return { state, backbone };
}

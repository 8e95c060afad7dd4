/**
 * The online kNN monitor of pre-training (solo-learn's protocol): every `every` steps the query
 * encoder embeds a seeded bank of the store's train split and seeded queries of its val split (test
 * when there is no val) in eval mode, and a weighted kNN (lib/analysis/knn.ts: cosine, k = 20,
 * T = 0.07) classifies the queries. Only the encoder's forward runs, without gradients: the queue,
 * the key encoder, the optimiser and every generator are left as they are, so a monitored run
 * trains exactly as an unmonitored one (test/train/knn-monitor.test.ts).
 */
import { knnClassify, kKnnDefaults, type KnnResult } from '../analysis/knn';
import { seededPermutation } from '../data/splits';
import { loadSplit, readManifest } from '../data/store';
import { ImlmError } from '../errors';
import { native } from '../native';
import type { Tensor } from '../tensor';
import type { Trainer } from './trainer';

export interface KnnMonitorOptions {
  /** Measure every this many steps (and at the end of the run). */
  every: number;
  /** Bank rows drawn from train, and query rows from val (default 256 each, fewer when the split is smaller: a forward pass of 512 images is seconds on a CPU). */
  size?: number;
  k?: number;
  temperature?: number;
  /** Seed of the bank and query draws (default 0). */
  seed?: number;
}

export const kKnnMonitorDefaults = { size: 256, seed: 0 } as const;

export interface KnnMonitor {
  readonly every: number;
  /** "kNN monitor: 500 train rows vs 500 val rows, every 25 steps". */
  readonly description: string;
  measure(trainer: Trainer): Promise<KnnResult>;
  dispose(): void;
}

interface Rows {
  images: Tensor;
  labels: Tensor;
}

async function seededRows(store: string, split: 'train' | 'val' | 'test', size: number, seed: number): Promise<Rows> {
  const s = await loadSplit(store, split);
  try {
    const n = s.images.shape[0];
    const chosen = Array.from(seededPermutation(n, seed).subarray(0, Math.min(size, n))).sort((a, b) => a - b);
    return { images: await native().selectRows(s.images, chosen), labels: await native().selectRows(s.labels, chosen) };
  } finally {
    for (const t of [s.images, s.labels, s.ids]) t.dispose();
  }
}

/**
 * A monitor on `store`, or null with the reason when its labels cannot be monitored (multilabel
 * stores: a kNN vote picks one class).
 */
export async function createKnnMonitor(store: string, options: KnnMonitorOptions): Promise<KnnMonitor | { skipped: string }> {
  if (!Number.isInteger(options.every) || options.every < 1) {
    throw new ImlmError(`expected the monitor's every to be an integer >= 1 but received ${options.every}`, 'ERR_INVALID_ARG');
  }
  const size = options.size ?? kKnnMonitorDefaults.size;
  if (!Number.isInteger(size) || size < 1) throw new ImlmError(`expected the monitor's size to be an integer >= 1 but received ${size}`, 'ERR_INVALID_ARG');
  const manifest = await readManifest(store);
  if (manifest.task === 'multilabel') return { skipped: `the kNN monitor needs one label per image; ${store} is multilabel` };
  const querySplit = manifest.splits.val ? 'val' : manifest.splits.test ? 'test' : null;
  if (!manifest.splits.train || !querySplit) return { skipped: `the kNN monitor needs a train split and a val or test split; ${store} has ${Object.keys(manifest.splits).join(', ')}` };
  const seed = options.seed ?? kKnnMonitorDefaults.seed;
  const bank = await seededRows(store, 'train', size, seed);
  const query = await seededRows(store, querySplit, size, seed + 1);
  const classes = manifest.classes.length;
  return {
    every: options.every,
    description: `kNN monitor: ${bank.images.shape[0]} train rows vs ${query.images.shape[0]} ${querySplit} rows, every ${options.every} steps (chance ${(100 / classes).toFixed(0)} %)`,
    async measure(trainer: Trainer): Promise<KnnResult> {
      const bankFeatures = await trainer.queryRepresentation(bank.images);
      const queryFeatures = await trainer.queryRepresentation(query.images);
      try {
        return await knnClassify(bankFeatures, bank.labels, queryFeatures, query.labels, {
          classes, k: options.k ?? kKnnDefaults.k, temperature: options.temperature ?? kKnnDefaults.temperature,
        });
      } finally {
        bankFeatures.dispose();
        queryFeatures.dispose();
      }
    },
    dispose() {
      for (const t of [bank.images, bank.labels, query.images, query.labels]) t.dispose();
    },
  };
}

/**
 * Linear probing (`eval linear`) and layer-wise probing (`eval probe`) of a frozen network. The
 * backbone runs once per split, in eval mode (the reference ran it in train mode every epoch,
 * docs/method.md Q14), and its pooled block features are cached in the run folder; a linear head is
 * then trained per sweep point on the label fraction's rows, the point chosen on validation,
 * and its test predictions written (predictions file + results.json).
 */
import { promises as fs } from 'fs';
import path from 'path';
import { writeJsonAtomic } from '../atomic-write';
import { validate } from '../config/validate';
import { native, type NativeProbeResult, type NativeProcessGroup } from '../native';
import { readManifest, type SplitName } from '../data/store';
import { absolute } from './absolute-path';
import { progressWithCancel, throwIfAborted, type EvalProgress } from './cancellation';
import { fractionRows } from './label-fraction';
import { checkMetric, defaultMetric, type SelectionMetric } from './selection-metric';
import { classCount, labelledTask } from './task';
import { cachedFeatures, disposeFeatures, isLead, type SplitFeatures } from './features';
import { kAdamSweep, kEvalDefaults, kLbfgsSweep, kProbeDefaults, kSweepPointDefaults, probeOptionsSchema } from './options';
import { writePredictions } from './predictions';
import { withDefaults } from '../with-defaults';

export interface ProbeOptions {
  /** A training state, a backbone.safetensors or a fine-tuned state. */
  checkpoint: string;
  store: string;
  /** The run folder (created): features cache, predictions, results.json. */
  outDir: string;
  /** Label fraction of the training split (a fraction the store records; default 1). */
  fraction?: number;
  /** eval linear: the block whose features the head reads (default 4). */
  block?: number;
  /** eval probe: the blocks to probe (default 1–4). */
  blocks?: number[];
  /** 'lbfgs' (default: full batch, weight decay swept) or 'adam' (mini-batch, lr × weight decay swept). */
  method?: 'lbfgs' | 'adam';
  sweep?: Array<{ lr?: number; weightDecay?: number }>;
  maxIterations?: number;
  epochs?: number;
  batchSize?: number;
  /** z-score features with the training rows' statistics (default true). */
  standardize?: boolean;
  metric?: SelectionMetric;
  imageSize?: number;
  featureBatchSize?: number;
  device?: string;
  threads?: number;
  seed?: number;
  /** Rank 0's only when `group` is given. */
  onProgress?: (p: EvalProgress & { block?: number; split?: SplitName }) => void;
  signal?: AbortSignal;
  /**
   * The process group of a distributed run: every rank computes its shard of each split's
   * features (the expensive part), then rank 0 alone fits the heads and writes the run folder.
   */
  group?: NativeProcessGroup;
}

export interface BlockProbeResult {
  block: number;
  featureDim: number;
  sweep: NativeProbeResult['points'];
  chosen: { index: number; lr: number; weightDecay: number; valMetric: number };
  test: { metric: SelectionMetric; value: number };
  predictions: string;
}

export interface ProbeResult {
  kind: 'linear' | 'probe';
  outDir: string;
  results: string;
  checkpoint: string;
  store: string;
  task: string;
  metric: SelectionMetric;
  fraction: number;
  counts: { train: number; val: number; test: number };
  method: 'lbfgs' | 'adam';
  standardize: boolean;
  imageSize: number;
  /** Whether each split's features came from the run folder's cache. */
  featuresCached: Record<SplitName, boolean>;
  blocks: BlockProbeResult[];
  seconds: number;
}

type ValidatedProbe = Omit<ProbeOptions, 'onProgress' | 'signal' | 'group'>;

/** A distributed probe's result: rank 0's, null on the other ranks (they only computed features). */
export type DistributedProbeResult = ProbeResult | null;

async function probe(kind: 'linear' | 'probe', options: ProbeOptions): Promise<ProbeResult | null> {
  const { onProgress, signal, group, ...rest } = options;
  const o = validate<ValidatedProbe>(probeOptionsSchema, rest, 'options');
  const start = Date.now();
  const blocks = kind === 'linear' ? [o.block ?? 4] : (o.blocks ?? [1, 2, 3, 4]);
  const method = o.method ?? kProbeDefaults.method;
  const fraction = o.fraction ?? 1;
  const lead = isLead(group);
  if (lead) await fs.mkdir(path.join(o.outDir, 'features'), { recursive: true });
  const features: Partial<Record<SplitName, SplitFeatures & { cached: boolean }>> = {};
  let rows: Awaited<ReturnType<typeof fractionRows>>['rows'] = null;
  try {
    const storeManifest = await readManifest(o.store);
    for (const split of ['train', 'val', 'test'] as SplitName[]) {
      throwIfAborted(signal);
      const f = await cachedFeatures(
        path.join(o.outDir, 'features', `${split}.safetensors`),
        {
          checkpoint: o.checkpoint,
          store: o.store,
          split,
          imageSize: o.imageSize,
          batchSize: o.featureBatchSize,
          device: o.device,
          threads: o.threads,
          onProgress: (p) => onProgress?.({ ...p, split }),
          signal,
          group,
        },
        storeManifest,
      );
      if (f) features[split] = f;
    }
    if (!lead) return null;
    const train = features.train!;
    const val = features.val!;
    const test = features.test!;
    const manifest = train.manifest;
    const metric = checkMetric(manifest.task, o.metric ?? defaultMetric(manifest.task));
    const selected = fractionRows(manifest, train.ids, fraction);
    rows = selected.rows;
    const results: BlockProbeResult[] = [];
    for (const block of blocks) {
      const k = block - 1;
      const r = await native().fitLinearProbe(
        {
          trainFeatures: train.blocks[k],
          trainLabels: train.labels,
          valFeatures: val.blocks[k],
          valLabels: val.labels,
          testFeatures: test.blocks[k],
          trainRows: rows ?? undefined,
          task: labelledTask(manifest),
          metric,
          numClasses: classCount(manifest),
          method,
          sweep: (o.sweep ?? (method === 'lbfgs' ? kLbfgsSweep : kAdamSweep)).map((p) => withDefaults(kSweepPointDefaults, p)),
          ...withDefaults(
            { maxIterations: kProbeDefaults.maxIterations, epochs: kProbeDefaults.epochs, batchSize: kProbeDefaults.batchSize, standardize: kProbeDefaults.standardize, ...kEvalDefaults },
            { maxIterations: o.maxIterations, epochs: o.epochs, batchSize: o.batchSize, standardize: o.standardize, seed: o.seed, device: o.device, threads: o.threads },
          ),
        },
        progressWithCancel((p) => onProgress?.({ ...p, block }), signal),
      );
      const chosen = r.points[r.chosen];
      const predictions = path.join(o.outDir, kind === 'linear' ? 'predictions-test.safetensors' : `predictions-test-block${block}.safetensors`);
      try {
        await writePredictions(predictions, {
          ids: test.ids,
          labels: test.labels,
          probabilities: r.testProbabilities!,
          manifest,
          model: `linear head on block ${block} of ${absolute(o.checkpoint)} (${method}, lr ${chosen.lr}, weight decay ${chosen.weightDecay}, fraction ${fraction})`,
        });
        results.push({
          block,
          featureDim: train.blocks[k].shape[1],
          sweep: r.points,
          chosen: { index: r.chosen, lr: chosen.lr, weightDecay: chosen.weightDecay, valMetric: chosen.valMetric },
          test: { metric, value: await native().selectionMetric(r.testProbabilities!, test.labels, manifest.task, metric) },
          predictions,
        });
      } finally {
        for (const t of [r.weight, r.bias, r.mean, r.scale, r.valProbabilities, r.testProbabilities]) t?.dispose();
      }
    }
    const result: ProbeResult = {
      kind,
      outDir: o.outDir,
      results: path.join(o.outDir, 'results.json'),
      checkpoint: absolute(o.checkpoint),
      store: absolute(o.store),
      task: labelledTask(manifest),
      metric,
      fraction,
      counts: { train: selected.count, val: val.ids.shape[0], test: test.ids.shape[0] },
      method,
      standardize: o.standardize ?? true,
      imageSize: train.imageSize,
      featuresCached: { train: train.cached, val: val.cached, test: test.cached },
      blocks: results,
      seconds: (Date.now() - start) / 1000,
    };
    await writeJsonAtomic(result.results, { ...result, created: new Date().toISOString() });
    return result;
  } finally {
    rows?.dispose();
    for (const f of Object.values(features)) if (f) disposeFeatures(f);
  }
}

/**
 * `eval linear`: a linear head on one block's features (default block 4: the 2048/512-d pooled
 * output). With `group`: rank 0 gets the result, the other ranks null.
 */
export function linearProbe(options: ProbeOptions & { group?: undefined }): Promise<ProbeResult>;
export function linearProbe(options: ProbeOptions): Promise<DistributedProbeResult>;
export function linearProbe(options: ProbeOptions): Promise<ProbeResult | null> {
  return probe('linear', options);
}

/** `eval probe`: a linear head per block (layer-wise probing, docs/method.md, "Layer-wise probing in the reference"), the same way as linearProbe. */
export function layerwiseProbe(options: ProbeOptions & { group?: undefined }): Promise<ProbeResult>;
export function layerwiseProbe(options: ProbeOptions): Promise<DistributedProbeResult>;
export function layerwiseProbe(options: ProbeOptions): Promise<ProbeResult | null> {
  return probe('probe', options);
}

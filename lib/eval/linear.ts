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
import type { Tensor } from '../tensor';
import { fractionRows } from './label-fraction';
import { checkMetric, defaultMetric, type SelectionMetric } from './selection-metric';
import { classCount, labelledTask } from './task';
import { cachedFeatures, disposeFeatures, isLead, readFeaturesCache, type SplitFeatures } from './features';
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
  /** Draw the label fraction anew with this seed (stratified, nested, as `prepare` records it) instead of using the store's recorded rows. */
  fractionSeed?: number;
  /**
   * Where the features of each split are cached (default outDir/features). Probes of one
   * checkpoint at several fractions share one folder, so the network runs once per split.
   */
  featuresDir?: string;
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
  /**
   * Rows the network ran over in this call, per split (0 when cached). Below 100% of the labels,
   * without a cache of the whole training split, only the fraction's training rows are run.
   */
  forwardedRows: Record<SplitName, number>;
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
  const featuresDir = o.featuresDir ?? path.join(o.outDir, 'features');
  if (lead) for (const d of [o.outDir, featuresDir]) await fs.mkdir(d, { recursive: true });
  const features: Partial<Record<SplitName, SplitFeatures & { cached: boolean; subset?: boolean }>> = {};
  let rows: Awaited<ReturnType<typeof fractionRows>>['rows'] = null;
  try {
    const storeManifest = await readManifest(o.store);
    const draw = (split: { ids: Tensor; labels: Tensor }) =>
      fractionRows(storeManifest, split.ids, fraction, o.fractionSeed === undefined ? undefined : { seed: o.fractionSeed, labels: split.labels });
    for (const split of ['train', 'val', 'test'] as SplitName[]) {
      throwIfAborted(signal);
      const options = {
        checkpoint: o.checkpoint,
        store: o.store,
        split,
        imageSize: o.imageSize,
        batchSize: o.featureBatchSize,
        device: o.device,
        threads: o.threads,
        onProgress: (p: EvalProgress) => onProgress?.({ ...p, split }),
        signal,
        group,
      };
      const wholeFile = path.join(featuresDir, `${split}.safetensors`);
      // Below 100% of the labels the head sees only the fraction's training rows: run the
      // network over those alone, unless the whole split's features are cached already.
      const fractionOfTrain = split === 'train' && fraction < 1 && !group;
      const wholeCached = fractionOfTrain ? await readFeaturesCache(wholeFile, options, storeManifest) : null;
      const onlyFraction = fractionOfTrain && !wholeCached;
      const drawName = `fraction-${fraction}-draw-${o.fractionSeed ?? 'recorded'}`;
      const f = wholeCached
        ? wholeCached
        : onlyFraction
        ? await cachedFeatures(
            path.join(featuresDir, `train-${drawName}.safetensors`),
            {
              ...options,
              subset: {
                key: drawName,
                rows: (whole) => {
                  const r = draw(whole).rows!;
                  try {
                    return Array.from(r.toTypedArray() as BigInt64Array, Number);
                  } finally {
                    r.dispose();
                  }
                },
              },
            },
            storeManifest,
          )
        : await cachedFeatures(wholeFile, options, storeManifest);
      if (f) features[split] = { ...f, subset: onlyFraction };
    }
    if (!lead) return null;
    const train = features.train!;
    const val = features.val!;
    const test = features.test!;
    const manifest = train.manifest;
    const metric = checkMetric(manifest.task, o.metric ?? defaultMetric(manifest.task));
    // Features of the fraction's rows alone need no row selection; the whole split's do.
    const selected = features.train!.subset ? { rows: null, count: train.ids.shape[0] } : draw(train);
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
      forwardedRows: { train: forwarded(train), val: forwarded(val), test: forwarded(test) },
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

const forwarded = (f: SplitFeatures & { cached: boolean }) => (f.cached ? 0 : f.ids.shape[0]);

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

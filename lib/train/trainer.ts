/**
 * A Trainer: a MoCo model with its optimiser, stepping natively on a worker thread. Created
 * from a resolved configuration; run() returns a Promise, reports progress every K steps, and
 * stops after the current step when its AbortSignal fires.
 */
import { native, type IntervalMeans, type StepOpCounts, type NativeBatchSource, type NativeShard, type NativeProgress, type NativeRunSummary, type NativeTensor, type NativeTrainer, type StepMetrics } from '../native';
import { kWholeBatch, resolveDistOptions, type DistOptions } from '../distributed/dist-options';
import { checkTrainConfig, kRunDefaults, type InitChannels, type TrainConfig } from '../config/train-config';
import { ImlmError } from '../errors';
import { packageVersion } from '../version';
import { resolvePolicy, type AugmentPolicy } from '../data/policies';

export type { StepMetrics, IntervalMeans, StepOpCounts };
export type Progress = NativeProgress;
export type RunSummary = NativeRunSummary;
export type BatchSource = NativeBatchSource;
/** A rank's place in a data-parallel run (see lib/distributed/env.ts for reading it from a launcher). */
export type { DistOptions };
/** Which slice of each global batch a source serves: rank r of worldSize. */
export type Shard = NativeShard;

export interface RunOptions {
  /** Steps to run (fewer if the source runs out). */
  steps: number;
  /**
   * Read the metrics on the host and call onProgress at the steps whose number is a multiple of
   * this, counted from step 0 of training so that chunked and resumed runs report at the same
   * steps (and after this run's last step); default 10. The steps between run without a device→host synchronisation; a step
   * whose loss or gradients are not finite is skipped on the device and the run rejects with
   * ERR_NON_FINITE at the next report.
   */
  reportEvery?: number;
  onProgress?: (progress: Progress) => void;
  /**
   * Count the ATen operators of every step (summary.opCounts): a diagnostic for benchmarks and
   * tests (npm run bench:ops), slows the run.
   */
  countOps?: boolean;
  /** Aborting finishes the current step and resolves with `cancelled: true`. */
  signal?: AbortSignal;
}

export class Trainer {
  private constructor(
    private readonly handle: NativeTrainer,
    readonly config: TrainConfig,
  ) {}

  /**
   * Builds and initialises the model (on a worker thread) from a complete configuration. With
   * `dist` (worldSize > 1) it joins the c10d process group — the Promise settles once every rank
   * has arrived — and trains data-parallel: config.batchSize is the global batch.
   */
  static async create(config: TrainConfig, dist?: DistOptions): Promise<Trainer> {
    const checked = checkTrainConfig(config);
    // bnGroups is optional in a configuration (docs/formats.md); 1 is one group.
    return new Trainer(await native().createTrainer({ ...checked, bnGroups: checked.bnGroups ?? 1 }, resolveDistOptions(dist)), checked);
  }

  /** This process's rank (0 with one process). */
  get rank(): number {
    return this.handle.rank;
  }

  /** The number of ranks training together (1: one process). */
  get worldSize(): number {
    return this.handle.worldSize;
  }

  get stepsCompleted(): number {
    return this.handle.stepsCompleted;
  }

  /** 'cpu' or 'cuda:N'. */
  get device(): string {
    return this.handle.device;
  }

  async run(source: BatchSource, options: RunOptions): Promise<RunSummary> {
    const { signal } = options;
    if (signal?.aborted && this.worldSize === 1) {
      return { stepsRun: 0, cancelled: true, last: null, imagesPerSecond: 0, seconds: 0, stepsCompleted: this.stepsCompleted };
    }
    const onAbort = () => this.handle.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const running = this.handle.run(source, {
        steps: options.steps,
        reportEvery: options.reportEvery ?? kRunDefaults.reportEvery,
        countOps: options.countOps ?? false,
        onProgress: options.onProgress,
      });
      // Across ranks a stop must be agreed on (at the next report), never taken alone: a rank
      // that returned early would leave the others waiting in a collective.
      if (signal?.aborted) this.handle.cancel();
      return await running;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Writes the whole training state (docs/formats.md) atomically. */
  save(path: string, metadata: Record<string, string> = {}, extra: Record<string, NativeTensor> = {}): Promise<void> {
    return this.handle.save(path, { imlm_native_version: packageVersion, created: new Date().toISOString(), ...metadata }, extra);
  }

  /** Replaces the state with a checkpoint's; ERR_FORMAT (naming file and tensor) if it does not fit. */
  load(path: string): Promise<void> {
    return this.handle.load(path);
  }

  /** Writes the query backbone with torchvision's names (no head). */
  exportBackbone(path: string): Promise<void> {
    return this.handle.exportBackbone(path, { imlm_native_version: packageVersion, created: new Date().toISOString() });
  }

  /**
   * The query encoder's representation (pooled layer4, F32 [N, F]) of images U8/F32 [N, C, H, W],
   * resized to the training size, in eval mode; the training state is not touched (the kNN monitor).
   */
  queryRepresentation(images: NativeTensor, batchSize = 256): Promise<NativeTensor> {
    return this.handle.queryRepresentation(images, batchSize);
  }

  /**
   * Loads torchvision-named weights (e.g. converted ImageNet weights) into both encoders.
   * `initChannels` (default 'refuse', kRunDefaults): what to do when their conv1 has another
   * number of input channels than the network — 'refuse' rejects with ERR_INVALID_ARG naming the
   * fix, 'sum' sums a C-channel conv1 over its input channels for a 1-channel network.
   */
  async loadBackbone(path: string, options: { initChannels?: InitChannels } = {}): Promise<void> {
    // async: a bad option (read synchronously by the bridge) rejects like every other failure
    return this.handle.loadBackbone(path, { initChannels: options.initChannels ?? kRunDefaults.initChannels });
  }
}

/** Which augmentation a source applies to each view: a policy name (lib/data/policies.ts) or a policy. */
export type PolicyChoice = string | Partial<AugmentPolicy>;

/**
 * The built-in synthetic data set: `poolSize` smooth random images, two augmented views each
 * (default policy 'mocov2'). `prefetch` batches (default 2; 0 = off) are prepared on background
 * threads while the trainer runs.
 */
export function syntheticSource(options: { poolSize?: number; channels: number; imageSize: number; batchSize: number; seed?: number; policy?: PolicyChoice; prefetch?: number; shard?: Shard }): BatchSource {
  return native().syntheticSource({
    ...options,
    poolSize: options.poolSize ?? 512,
    seed: options.seed ?? 0,
    policy: resolvePolicy(options.policy),
    prefetch: options.prefetch ?? 2,
    shard: options.shard ?? kWholeBatch,
  });
}

/**
 * Where a source should make its views for a trainer on `device` ('auto', 'cpu', 'cuda',
 * 'cuda:N'): on the trainer's GPU when it has one (the bytes go through pinned memory on a side
 * stream), else on the CPU. `localRank` picks the GPU of a data-parallel rank.
 */
export function augmentDeviceFor(device: string, cudaAvailable: boolean, localRank = 0): string {
  if (!cudaAvailable || device === 'cpu') return 'cpu';
  return device === 'auto' || device === 'cuda' ? `cuda:${localRank}` : device;
}

/**
 * Images in memory (uint8 0..255 or float32 0..1, [M, C, H, W]), two views augmented with
 * `policy` (default 'mocov2'), `prefetch` batches ahead (default 2). `batchSize` is the global
 * batch; with `shard` this rank gets its slice of each (same seeded permutation on every rank).
 */
export function tensorSource(
  images: NativeTensor,
  options: { batchSize: number; imageSize: number; seed?: number; policy?: PolicyChoice; prefetch?: number; shard?: Shard; augmentDevice?: string },
): BatchSource {
  if (images.shape.length !== 4) {
    throw new ImlmError(`Expected images of shape [M, C, H, W] but received [${images.shape.join(', ')}]`, 'ERR_INVALID_ARG');
  }
  return native().tensorSource(images, {
    ...options,
    seed: options.seed ?? 0,
    policy: resolvePolicy(options.policy),
    prefetch: options.prefetch ?? 2,
    shard: options.shard ?? kWholeBatch,
    augmentDevice: options.augmentDevice ?? 'cpu',
  });
}

/** Pre-augmented batches q, k [S, N, C, H, W]; step firstStep + i gets batch i (with `shard`, its rank's slice of the N). */
export function fixedBatchesSource(q: NativeTensor, k: NativeTensor, firstStep = 0, shard?: Shard): BatchSource {
  return native().fixedBatchesSource(q, k, firstStep, shard ?? kWholeBatch);
}

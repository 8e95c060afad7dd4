/**
 * The one loader of the native addon and the one TypeScript description of what it exports.
 * Nothing else in lib/ requires the .node file.
 */
import type { NativeAnalysis } from './analysis/native-types';
import { ImlmError } from './errors';
import { packageRoot } from './version';

export type DType = 'float32' | 'float64' | 'int64' | 'int32' | 'uint8' | 'bool';

/** What each dtype's data looks like in JavaScript. */
export interface TypedArrayFor {
  float32: Float32Array;
  float64: Float64Array;
  int64: BigInt64Array;
  int32: Int32Array;
  uint8: Uint8Array;
  bool: Uint8Array;
}
export type TensorData = TypedArrayFor[DType];

/**
 * dtypes a safetensors file may hold that JavaScript reads but cannot create (docs/api.md):
 * bfloat16 and float16 read as a Float32Array (every value exact), int16 and int8 as
 * Int16Array and Int8Array.
 */
export type FileDType = 'bfloat16' | 'float16' | 'int16' | 'int8';
export interface FileTypedArrayFor {
  bfloat16: Float32Array;
  float16: Float32Array;
  int16: Int16Array;
  int8: Int8Array;
}

/** A LibTorch tensor owned by JavaScript. Free it with dispose(); the GC frees it otherwise. */
export interface NativeTensor {
  readonly shape: number[];
  /** One of DType, or for a tensor read from a file also one of FileDType. */
  readonly dtype: DType | FileDType;
  /** 'cpu' or 'cuda:N'. */
  readonly device: string;
  readonly numel: number;
  readonly disposed: boolean;
  /**
   * A contiguous copy of a CPU tensor's elements (bool → Uint8Array of 0/1; bfloat16 and
   * float16 → Float32Array of the same values; int16 → Int16Array; int8 → Int8Array).
   */
  toTypedArray(): TensorData | FileTypedArrayFor[FileDType];
  /** A copy on another device ('cpu', 'cuda', 'cuda:N', 'auto'), made on a worker thread. */
  to(device: string): Promise<NativeTensor>;
  dispose(): void;
}

/** One augmentation op: its policy fields (type and finite bounds; atMost: the field it may not exceed) and the per-sample parameters it draws. */
export interface NativeAugmentOp {
  name: string;
  fields: Array<{ name: string; type: 'boolean' | 'number'; minimum?: number; exclusiveMinimum?: number; maximum?: number; atMost?: string }>;
  params: string[];
}

export interface NativeCudaDevice {
  index: number;
  name: string;
  totalMemoryBytes: number;
  freeMemoryBytes: number;
  computeCapability: string;
}

export interface NativeInfo {
  libtorch: {
    version: string;
    headerVersion: string;
    source: string;
    libraryPath: string;
    builtWithCuda: boolean;
  };
  cuda: {
    available: boolean;
    reason: string | null;
    cudnnVersion: number | null;
    devices: NativeCudaDevice[];
  };
  threads: { intraOp: number; interOp: number };
  build: { type: string; system: string; napiVersion: number };
  /** The ResNets the native model table builds (native/core/models/architectures.cc). */
  architectures: string[];
}

/** Metrics of one training step (docs/formats.md, "One training step"). */
export interface StepMetrics {
  /** Steps completed after this one. */
  step: number;
  loss: number;
  infoNce: number;
  /** The four block terms (already weighted), zeros for loss 'none'. */
  blocks: [number, number, number, number];
  /** Fraction of queries whose positive key ranks first / in the top 5 of 1 + K logits. */
  top1: number;
  top5: number;
  lr: number;
  keyMomentum: number;
}

/** Mean losses over the steps since the previous report (summed on the device, read once). */
export interface IntervalMeans {
  steps: number;
  loss: number;
  infoNce: number;
  blocks: [number, number, number, number];
}

export interface NativeProgress extends StepMetrics {
  /** The steps since the previous report. */
  mean: IntervalMeans;
  /** Throughput since the previous report. */
  imagesPerSecond: number;
  stepsThisRun: number;
}

/**
 * The ATen operators one step called: name → [all calls, calls not made from inside another
 * operator, calls not made from inside a multi-tensor (_foreach_/_fused_) operator].
 */
export interface StepOpCounts {
  step: number;
  /** A report step: its metrics were read on the host. */
  report: boolean;
  ops: Record<string, [number, number, number]>;
}

export interface NativeRunSummary {
  stepsRun: number;
  cancelled: boolean;
  last: StepMetrics | null;
  imagesPerSecond: number;
  seconds: number;
  stepsCompleted: number;
  /** With `countOps` only. */
  opCounts?: StepOpCounts[];
}

/** A source of view pairs for a Trainer (opaque). */
export interface NativeBatchSource {
  describe(): string;
  /**
   * Produces batches 0..n−1 on a worker thread with `threads` intra-op threads (0: LibTorch's
   * default) and times it; `hostOnly`: only the host stage (gathered images, pinned when bound
   * for a GPU; no augmentation), with its bytes/s and whether the memory was pinned.
   */
  measure(
    batches: number,
    threads: number,
    hostOnly: boolean,
  ): Promise<{ imagesPerSecond: number; seconds: number; bytesPerSecond?: number; pinned?: boolean }>;
}

/**
 * A rank's place in a data-parallel run, every field resolved (lib/distributed/dist-options.ts;
 * the native layer takes no defaults).
 */
export interface NativeDistOptions {
  rank: number;
  worldSize: number;
  localRank: number;
  masterAddr: string;
  masterPort: number;
  backend: 'auto' | 'gloo' | 'nccl';
  timeoutSeconds: number;
  bucketMb: number;
  shuffleBn: boolean;
  /** SyncBatchNorm (global-batch statistics in every BN) instead of shuffle-BN. */
  syncBn: boolean;
  /** Join a process group even with worldSize 1 (checks a backend on one GPU). */
  forceGroup: boolean;
}

/**
 * A c10d process group outside training (createProcessGroup): Gloo on CPU tensors, or NCCL on
 * this rank's GPU when asked for by name. Every collective returns a Promise, one at a time per
 * group (ERR_BUSY otherwise), and every rank must issue the same collectives in the same order.
 */
export interface NativeProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  /** 'gloo' or 'nccl'. */
  readonly backend: string;
  readonly closed: boolean;
  /** Every rank's tensor (the same shape on all ranks) concatenated along dim 0 in rank order, on the CPU. */
  allGather(tensor: NativeTensor): Promise<NativeTensor>;
  /** As allGather, but the first dimension may differ between ranks (padded to the longest, the true counts sent first). */
  allGatherRows(rows: NativeTensor): Promise<NativeTensor>;
  barrier(): Promise<void>;
  /** Leaves the group (a collective in flight finishes first); later calls fail with ERR_DISPOSED. */
  close(): void;
}

/** Which slice of each global batch a source serves. */
export interface NativeShard {
  rank: number;
  worldSize: number;
}

export interface NativeTrainer {
  readonly stepsCompleted: number;
  readonly device: string;
  readonly busy: boolean;
  readonly rank: number;
  readonly worldSize: number;
  run(
    source: NativeBatchSource,
    options: { steps: number; reportEvery: number; countOps: boolean; onProgress?: (p: NativeProgress) => void },
  ): Promise<NativeRunSummary>;
  cancel(): void;
  save(path: string, metadata?: Record<string, string>, extra?: Record<string, NativeTensor>): Promise<void>;
  load(path: string): Promise<void>;
  exportBackbone(path: string, metadata?: Record<string, string>): Promise<void>;
  loadBackbone(path: string, options: { initChannels: 'refuse' | 'sum' }): Promise<void>;
  /** The query encoder's pooled layer4 features of `images`, eval mode, on a worker (native/core/train/trainer.h). */
  queryRepresentation(images: NativeTensor, batchSize: number): Promise<NativeTensor>;
}

/** Progress of an evaluation task: `stage` features | fit | sweep | train | predict; `value` is stage-specific (loss, metric). */
export interface NativeEvalProgress {
  stage: string;
  done: number;
  total: number;
  value: number;
}

export interface NativeFeatures {
  /** F32 [N, C_k]: global-average-pooled outputs of layer1..layer4. */
  blocks: [NativeTensor, NativeTensor, NativeTensor, NativeTensor];
  /** F32 [N, D], L2-normalised head output; null for a file without a head. */
  embedding: NativeTensor | null;
  arch: string;
  stem: 'standard' | 'small';
  inChannels: number;
  hasHead: boolean;
  /** 'train-state', 'backbone' or 'finetune-state'. */
  kind: string;
}

export interface NativeProbeOptions {
  task: 'multiclass' | 'binary' | 'multilabel';
  metric: 'accuracy' | 'auc';
  numClasses: number;
  method: 'lbfgs' | 'adam';
  sweep: Array<{ lr: number; weightDecay: number }>;
  maxIterations: number;
  epochs: number;
  batchSize: number;
  standardize: boolean;
  seed: number;
  device: string;
  threads: number;
  /** I64 [m]: rows of the training features/images to train on (a label fraction); default all. */
  trainRows?: NativeTensor;
}

export interface NativeProbeResult {
  points: Array<{ lr: number; weightDecay: number; valMetric: number; trainLoss: number; seconds: number }>;
  chosen: number;
  weight: NativeTensor;
  bias: NativeTensor;
  mean: NativeTensor;
  scale: NativeTensor;
  valProbabilities: NativeTensor;
  testProbabilities: NativeTensor | null;
}

export interface NativeFinetuneConfig {
  /** Left out: from scratch. */
  checkpoint?: string;
  arch: string;
  stem: 'standard' | 'small';
  inChannels: number;
  zeroInitResidual: boolean;
  task: 'multiclass' | 'binary' | 'multilabel';
  numClasses: number;
  lr: number;
  weightDecay: number;
  batchSize: number;
  policy: object;
  imageSize: number;
  device: string;
  seed: number;
  threads: number;
}

export interface NativeFinetuneSummary {
  stepsRun: number;
  cancelled: boolean;
  lastLoss: number;
  meanLoss: number;
  seconds: number;
  imagesPerSecond: number;
  stepsCompleted: number;
}

export interface NativeFinetuner {
  readonly stepsCompleted: number;
  readonly stepsPerEpoch: number;
  readonly device: string;
  readonly initialisation: string;
  readonly network: { arch: string; stem: string; inChannels: number };
  run(options: { steps: number; reportEvery: number; onProgress?: (p: NativeEvalProgress) => void }): Promise<NativeFinetuneSummary>;
  cancel(): void;
  predict(images: NativeTensor, options: { batchSize: number; onProgress?: (p: NativeEvalProgress) => void }): Promise<NativeTensor>;
  save(path: string, metadata?: Record<string, string>): Promise<void>;
  load(path: string): Promise<void>;
}

/** A network read once for in-memory embedding (native/bridge/encoder_wrap.h). */
export interface NativeEncoder {
  /** ERR_DISPOSED after dispose(). */
  readonly network: {
    arch: string;
    stem: 'standard' | 'small';
    inChannels: number;
    hasHead: boolean;
    embeddingDim: number | null;
    blockChannels: [number, number, number, number];
    kind: string;
    device: string;
  };
  readonly disposed: boolean;
  /** images U8 (0..255) or F32/F64 (0..1), [N, H, W] (one channel) or [N, C, H, W]; imageSize 0: as given. */
  embed(
    images: NativeTensor,
    options: { batchSize: number; imageSize: number; embedding: boolean; onProgress?: (p: NativeEvalProgress) => void },
  ): Promise<{ blocks: [NativeTensor, NativeTensor, NativeTensor, NativeTensor]; embedding: NativeTensor | null }>;
  dispose(): void;
}

/** Its analysis functions are typed beside them, in lib/analysis/native-types.ts. */
export interface NativeBinding extends NativeAnalysis {
  Tensor: new (data: TensorData, shape: number[], dtype?: DType) => NativeTensor;
  info(): Promise<NativeInfo>;
  /** The CUDA caching allocator's peaks on cuda:index since the last reset (null without CUDA). */
  deviceMemoryPeaks(index: number, reset: boolean): { allocatedBytes: number; reservedBytes: number } | null;
  /** Tests only (native/bridge/internals_binding.h): one job on a SerialThread shared by all calls. */
  _serialThreadProbe(fail?: boolean): Promise<{ job: string; caller: string }>;
  createTrainer(config: import('./config/train-config').TrainConfig, dist: NativeDistOptions): Promise<NativeTrainer>;
  syntheticSource(options: { poolSize: number; channels: number; imageSize: number; batchSize: number; seed: number; policy: object; prefetch: number; shard: NativeShard }): NativeBatchSource;
  tensorSource(images: NativeTensor, options: { batchSize: number; imageSize: number; seed: number; policy: object; prefetch: number; shard: NativeShard; augmentDevice: string }): NativeBatchSource;
  augmentBatch(images: NativeTensor, policy: object, outputSize: number, seed: number): Promise<{ images: NativeTensor; params: Record<string, NativeTensor> }>;
  /** The augmentation op table (native/core/augment/ops.h), in the order the ops draw and run. */
  augmentOps(): NativeAugmentOp[];
  fixedBatchesSource(q: NativeTensor, k: NativeTensor, firstStep: number, shard: NativeShard): NativeBatchSource;
  selectRows(tensor: NativeTensor, indices: number[]): Promise<NativeTensor>;
  toRgbBytes(images: NativeTensor): Promise<NativeTensor>;
  /** The c10d backends this build has: 'gloo' (CPU), 'nccl' (CUDA builds with nccl.h). */
  distBackends(): string[];
  /** Joins a distributed run (blocks, on a worker thread, until every rank has arrived or the timeout passes). */
  createProcessGroup(dist: NativeDistOptions): Promise<NativeProcessGroup>;
  lossInfoNce(q: NativeTensor, k: NativeTensor, queue: NativeTensor, temperature: number): Promise<{ loss: number; logits: NativeTensor }>;
  lossLayerMse(q: NativeTensor, k: NativeTensor, poolSize: number, weight: number): Promise<{ loss: number }>;
  lossBarlowTwins(z1: NativeTensor, z2: NativeTensor, lambda: number, scale: number, weighting: 'kaku2021' | 'original'): Promise<{ loss: number }>;
  readSafetensors(path: string, options: { mmap: boolean }): Promise<{ tensors: Record<string, NativeTensor>; metadata: Record<string, string> }>;
  writeSafetensors(path: string, tensors: Record<string, NativeTensor>, metadata?: Record<string, string>): Promise<void>;
  extractFeatures(
    /** imageSize 0: as stored. */
    options: { checkpoint: string; images: NativeTensor; batchSize: number; imageSize: number; embedding: boolean; device: string; threads: number },
    onProgress?: (p: NativeEvalProgress) => void,
  ): Promise<NativeFeatures>;
  fitLinearProbe(
    options: NativeProbeOptions & { trainFeatures: NativeTensor; trainLabels: NativeTensor; valFeatures: NativeTensor; valLabels: NativeTensor; testFeatures?: NativeTensor },
    onProgress?: (p: NativeEvalProgress) => void,
  ): Promise<NativeProbeResult>;
  fitLinearProbeThroughBackbone(
    options: NativeProbeOptions & {
      checkpoint: string;
      block: number;
      trainImages: NativeTensor;
      trainLabels: NativeTensor;
      valImages: NativeTensor;
      valLabels: NativeTensor;
      imageSize: number;
      featureBatchSize: number;
    },
    onProgress?: (p: NativeEvalProgress) => void,
  ): Promise<NativeProbeResult>;
  selectionMetric(probabilities: NativeTensor, labels: NativeTensor, task: string, metric: string): Promise<number>;
  createFinetuner(config: NativeFinetuneConfig, trainImages: NativeTensor, trainLabels: NativeTensor, trainRows?: NativeTensor): Promise<NativeFinetuner>;
  loadEncoder(options: { checkpoint: string; device: string; threads: number }): Promise<NativeEncoder>;
  setErrorClass(errorClass: typeof ImlmError): void;
  liveTensorCount(): number;
}

let cached: NativeBinding | undefined;
let loadError: ImlmError | undefined;

/**
 * Path of the .node file to load: IMLM_ADDON_PATH if set (to try another build, e.g.
 * build-gyp/Release/imlm.node), else what node-gyp-build picks (prebuilds/ or build/Release).
 */
export function addonPath(): string {
  if (process.env.IMLM_ADDON_PATH) return process.env.IMLM_ADDON_PATH;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nodeGypBuild = require('node-gyp-build') as { resolve(dir: string): string };
  return nodeGypBuild.resolve(packageRoot);
}

/** The addon, loaded once per environment (main thread or worker thread). */
export function native(): NativeBinding {
  if (cached) return cached;
  if (loadError) throw loadError;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const binding = require(addonPath()) as NativeBinding;
    binding.setErrorClass(ImlmError);
    cached = binding;
    return binding;
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    loadError = new ImlmError(
      `the imlm-native addon could not be loaded: ${detail}\n` +
        'Possible solutions:\n' +
        '  - build it: `npm rebuild imlm-native` (in this repository: `npm run build:native`)\n' +
        '  - npm >= 11 skips dependencies\' install scripts: `npm install-scripts approve imlm-native`, then reinstall\n' +
        '  - check the machine: `npx imlm-native doctor`',
      'ERR_NATIVE_LOAD',
      { cause },
    );
    throw loadError;
  }
}

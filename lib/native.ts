/**
 * The one loader of the native addon and the one TypeScript description of what it exports.
 * Nothing else in lib/ requires the .node file.
 */
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

/** A LibTorch tensor owned by JavaScript. Free it with dispose(); the GC frees it otherwise. */
export interface NativeTensor {
  readonly shape: number[];
  readonly dtype: DType;
  /** 'cpu' or 'cuda:N'. */
  readonly device: string;
  readonly numel: number;
  readonly disposed: boolean;
  /** A contiguous copy of a CPU tensor's elements (bool → Uint8Array of 0/1). */
  toTypedArray(): TensorData;
  /** A copy on another device ('cpu', 'cuda', 'cuda:N', 'auto'), made on a worker thread. */
  to(device: string): Promise<NativeTensor>;
  dispose(): void;
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

export interface NativeProgress extends StepMetrics {
  /** Throughput since the previous report. */
  imagesPerSecond: number;
  stepsThisRun: number;
}

export interface NativeRunSummary {
  stepsRun: number;
  cancelled: boolean;
  last: StepMetrics | null;
  imagesPerSecond: number;
  seconds: number;
  stepsCompleted: number;
}

/** A source of view pairs for a Trainer (opaque). */
export interface NativeBatchSource {
  describe(): string;
  /** Produces batches 0..n−1 on a worker thread with `threads` intra-op threads (0: LibTorch's default) and times it. */
  measure(batches: number, threads: number): Promise<{ imagesPerSecond: number; seconds: number }>;
}

/** A rank's place in a data-parallel run (lib/dist/env.ts). */
export interface NativeDistOptions {
  rank: number;
  worldSize: number;
  localRank?: number;
  masterAddr?: string;
  masterPort?: number;
  backend?: 'auto' | 'gloo' | 'nccl';
  timeoutSeconds?: number;
  bucketMb?: number;
  shuffleBn?: boolean;
  /** Join a process group even with worldSize 1 (checks a backend on one GPU). */
  forceGroup?: boolean;
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
    options: { steps: number; reportEvery?: number; onProgress?: (p: NativeProgress) => void },
  ): Promise<NativeRunSummary>;
  cancel(): void;
  save(path: string, metadata?: Record<string, string>, extra?: Record<string, NativeTensor>): Promise<void>;
  load(path: string): Promise<void>;
  exportBackbone(path: string, metadata?: Record<string, string>): Promise<void>;
  loadBackbone(path: string): Promise<void>;
}

export interface NativeBinding {
  Tensor: new (data: TensorData, shape: number[], dtype?: DType) => NativeTensor;
  info(): Promise<NativeInfo>;
  createTrainer(config: object, dist?: NativeDistOptions): Promise<NativeTrainer>;
  syntheticSource(options: { poolSize: number; channels: number; imageSize: number; batchSize: number; seed: number; policy: object; prefetch?: number; shard?: NativeShard }): NativeBatchSource;
  tensorSource(images: NativeTensor, options: { batchSize: number; imageSize: number; seed: number; policy: object; prefetch?: number; shard?: NativeShard }): NativeBatchSource;
  augmentBatch(images: NativeTensor, policy: object, outputSize: number, seed: number): Promise<{ images: NativeTensor; params: Record<string, NativeTensor> }>;
  fixedBatchesSource(q: NativeTensor, k: NativeTensor, firstStep: number, shard?: NativeShard): NativeBatchSource;
  /** The c10d backends this build has: 'gloo' (CPU), 'nccl' (CUDA builds with nccl.h). */
  distBackends(): string[];
  lossInfoNce(q: NativeTensor, k: NativeTensor, queue: NativeTensor, temperature: number): Promise<{ loss: number; logits: NativeTensor }>;
  lossLayerMse(q: NativeTensor, k: NativeTensor, poolSize: number, weight: number): Promise<{ loss: number }>;
  lossBarlowTwins(z1: NativeTensor, z2: NativeTensor, lambda: number, scale: number, weighting?: 'kaku2021' | 'original'): Promise<{ loss: number }>;
  readSafetensors(path: string, options?: { mmap?: boolean }): Promise<{ tensors: Record<string, NativeTensor>; metadata: Record<string, string> }>;
  writeSafetensors(path: string, tensors: Record<string, NativeTensor>, metadata?: Record<string, string>): Promise<void>;
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

/**
 * In-memory embedding: a checkpoint loaded once (`loadEncoder`) and run over images held in
 * memory (`Encoder.embed`). The features are the ones the `embed` command writes for the same
 * images (lib/eval/features.ts; docs/formats.md, "Features file"): the file is read the same way,
 * the images get the same preprocessing (uint8 divided by 255, floats taken as 0..1, resized to
 * the checkpoint's training size) and the same extraction (native/core/eval/encoder.h calls
 * extractFeatures), in eval mode, batched, on a worker thread.
 */
import { validate } from '../config/validate';
import { ImlmError } from '../errors';
import { native, type NativeEncoder } from '../native';
import { tensor, type Tensor } from '../tensor';
import { progressWithCancel, throwIfAborted, type EvalProgress } from './cancellation';
import { checkpointInfo } from './checkpoint-info';
import { encoderEmbedOptionsSchema, encoderOptionsSchema, kEvalDefaults, kProbeDefaults } from './options';

/** Images as arrays: uint8 (0..255) or float (0..1) values, [N, H, W] (one channel) or [N, C, H, W], row-major. */
export interface ImageArray {
  data: Uint8Array | Float32Array | Float64Array;
  shape: readonly number[];
}

/** A Tensor (lib/tensor.ts) of uint8 or float images, or an ImageArray. */
export type Images = Tensor | ImageArray;

export interface LoadEncoderOptions {
  /** Resize the images to this side (default: the size the checkpoint was trained at, else as given). */
  imageSize?: number;
  /** 'auto' (default), 'cpu', 'cuda', 'cuda:N'. */
  device?: string;
  /** CPU threads (default 0: one per core). */
  threads?: number;
}

export interface EncoderEmbedOptions {
  /** Images per forward (default 256, as `embed`'s). */
  batchSize?: number;
  /** Also return the pooled features of blocks 1..4 (default false). */
  blocks?: boolean;
  /** After every batch: { stage: 'features', done, total }. */
  onProgress?: (p: EvalProgress) => void;
  /** Aborting it stops between batches; the Promise rejects with ERR_CANCELLED. */
  signal?: AbortSignal;
}

export interface Embedding {
  /** F32 [N, C_4]: the global-average-pooled output of layer4 (the features file's `block4`). */
  block4: Tensor;
  /** F32 [N, D]: the MoCo head's output, L2-normalised (`embedding`); null for a checkpoint without a head. */
  embedding: Tensor | null;
  /** With `blocks: true`: F32 [N, C_k] of blocks 1..4 (`block1`..`block4`); `blocks[3]` is `block4`. */
  blocks?: [Tensor, Tensor, Tensor, Tensor];
}

function invalid(message: string): ImlmError {
  return new ImlmError(message, 'ERR_INVALID_ARG');
}

function isImageArray(value: unknown): value is ImageArray {
  return typeof value === 'object' && value !== null && 'data' in value && 'shape' in value;
}

/** The images as a Tensor, and whether it was made here (and is disposed here). */
function imagesTensor(images: Images): { images: Tensor; owned: boolean } {
  if (images instanceof native().Tensor) return { images, owned: false };
  if (isImageArray(images)) {
    const { data, shape } = images as { data: unknown; shape: unknown };
    if (!(data instanceof Uint8Array || data instanceof Float32Array || data instanceof Float64Array)) {
      const kind = ArrayBuffer.isView(data) ? data.constructor.name : Array.isArray(data) ? 'an array' : typeof data;
      throw invalid(`Expected images.data to be a Uint8Array (0..255), Float32Array or Float64Array (0..1) but received ${kind}; convert the pixels to one of them`);
    }
    if (!Array.isArray(shape)) throw invalid(`Expected images.shape to be [N, H, W] or [N, C, H, W] but received ${typeof shape}`);
    return { images: tensor(data, shape), owned: true };
  }
  const kind = images === null ? 'null' : Array.isArray(images) ? 'an array' : typeof images;
  throw invalid(`Expected images as a Tensor or { data, shape } (data a Uint8Array, Float32Array or Float64Array) but received ${kind}`);
}

/** A network loaded once for embedding images in memory. Free it with dispose(). */
export class Encoder {
  readonly arch: string;
  readonly stem: 'standard' | 'small';
  readonly inChannels: number;
  readonly hasHead: boolean;
  /** D, or null when the checkpoint has no head. */
  readonly embeddingDim: number | null;
  /** C_1..C_4. */
  readonly blockChannels: [number, number, number, number];
  /** What the checkpoint file is: train-state, backbone or finetune-state. */
  readonly checkpointKind: string;
  readonly device: string;
  /** The side images are resized to, or null: used as given. */
  readonly imageSize: number | null;
  private encoder: NativeEncoder | null;

  /** Encoders come from loadEncoder(checkpoint). */
  private constructor(encoder: NativeEncoder, imageSize: number | null) {
    const n = encoder.network;
    this.arch = n.arch;
    this.stem = n.stem;
    this.inChannels = n.inChannels;
    this.hasHead = n.hasHead;
    this.embeddingDim = n.embeddingDim;
    this.blockChannels = n.blockChannels;
    this.checkpointKind = n.kind;
    this.device = n.device;
    this.imageSize = imageSize;
    this.encoder = encoder;
  }

  /** @internal loadEncoder's constructor. */
  static async load(checkpoint: string, options: LoadEncoderOptions = {}): Promise<Encoder> {
    if (typeof checkpoint !== 'string' || checkpoint === '') throw invalid(`Expected a checkpoint file path but received ${JSON.stringify(checkpoint)}`);
    const o = validate<LoadEncoderOptions>(encoderOptionsSchema, options, 'options');
    const imageSize = o.imageSize ?? (await checkpointInfo(checkpoint)).imageSize;
    const encoder = await native().loadEncoder({ checkpoint, device: o.device ?? kEvalDefaults.device, threads: o.threads ?? kEvalDefaults.threads });
    return new Encoder(encoder, imageSize);
  }

  get disposed(): boolean {
    return this.encoder === null;
  }

  /**
   * The features of `images` (any N >= 1), computed on a worker thread. Rejects with
   * ERR_INVALID_ARG for images of the wrong rank, channel count or dtype or an empty batch,
   * ERR_NON_FINITE for NaN or infinite values, ERR_DISPOSED after dispose().
   */
  async embed(images: Images, options: EncoderEmbedOptions = {}): Promise<Embedding> {
    if (!this.encoder) throw new ImlmError('this Encoder was disposed; load another with loadEncoder(checkpoint)', 'ERR_DISPOSED');
    const { onProgress, signal, ...rest } = options ?? {};
    if (onProgress !== undefined && typeof onProgress !== 'function') throw invalid(`Expected a function for options.onProgress but received ${typeof onProgress}`);
    const o = validate<Omit<EncoderEmbedOptions, 'onProgress' | 'signal'>>(encoderEmbedOptionsSchema, rest, 'options');
    throwIfAborted(signal);
    const input = imagesTensor(images);
    try {
      const f = await this.encoder.embed(input.images, {
        batchSize: o.batchSize ?? kProbeDefaults.featureBatchSize,
        imageSize: this.imageSize ?? 0,
        embedding: true,
        onProgress: progressWithCancel(onProgress, signal),
      });
      if (o.blocks) return { block4: f.blocks[3], embedding: f.embedding, blocks: f.blocks };
      for (const t of f.blocks.slice(0, 3)) t.dispose();
      return { block4: f.blocks[3], embedding: f.embedding };
    } finally {
      if (input.owned) input.images.dispose();
    }
  }

  /** Frees the network (an embed already running finishes first); later calls reject with ERR_DISPOSED. */
  dispose(): void {
    this.encoder?.dispose();
    this.encoder = null;
  }
}

/**
 * Loads a checkpoint (a training state, backbone.safetensors or a fine-tuned state) for
 * in-memory embedding, on a worker thread.
 *
 * ```ts
 * const enc = await loadEncoder('runs/a/backbone.safetensors', { device: 'cpu' });
 * const { block4, embedding } = await enc.embed({ data: pixels, shape: [n, 1, 224, 224] });
 * enc.dispose();
 * ```
 */
export function loadEncoder(checkpoint: string, options?: LoadEncoderOptions): Promise<Encoder> {
  return Encoder.load(checkpoint, options);
}

/**
 * The training configuration (docs/formats.md, "Configuration"): its TypeScript type, its JSON
 * Schema, the two presets, the overlays, and resolution (preset ← overrides → validated, complete
 * config). Every default of a training run lives here: a preset holds the full set, an overlay
 * (e.g. `demo`) the few fields a purpose changes over it; the schema is the one place a value is
 * checked — the CLI parses its flags into numbers and words and leaves the ranges to it.
 */
import { validate, type Schema } from './validate';
import { ImlmError } from '../errors';
import { ARCHS, type Arch } from './archs';

export type { Arch } from './archs';
/**
 * The intermediate losses: the TypeScript side of the registry in
 * native/core/losses/intermediate_loss.cc. The type and the schema derive from this list.
 */
export const INTERMEDIATE_LOSSES = ['none', 'mse', 'barlow'] as const;
export type IntermediateLossName = (typeof INTERMEDIATE_LOSSES)[number];
export type Precision = 'fp32' | 'bf16' | 'fp16';

export interface TrainConfig {
  arch: Arch;
  stem: 'standard' | 'small';
  inChannels: 1 | 3;
  zeroInitResidual: boolean;
  embeddingDim: number;
  head: 'fc' | 'mlp';
  queueSize: number;
  temperature: number;
  keyMomentum: number;
  keyMomentumSchedule: 'constant' | 'cosine';
  shuffleGroups: number;
  /**
   * Optional, default 1: G > 1 normalises every batch norm over G consecutive sub-batches, as G
   * data-parallel ranks without shuffle-BN would; one process then reproduces a G-rank run.
   */
  bnGroups?: number;
  intermediate: {
    loss: IntermediateLossName;
    mse: { poolSizes: [number, number, number, number]; weights: [number, number, number, number] };
    barlow: {
      projectorDims: [number, number, number];
      lambda: number;
      scale: number;
      weighting: 'kaku2021' | 'original';
    };
  };
  optimizer: {
    lr: number;
    momentum: number;
    weightDecay: number;
    nesterov: boolean;
    schedule: 'constant' | 'step' | 'cosine';
    warmupSteps: number;
    milestones: number[];
    gamma: number;
    gradClip: number;
  };
  totalSteps: number;
  batchSize: number;
  imageSize: number;
  device: string;
  precision: Precision;
  channelsLast: boolean;
  cudnnBenchmark: boolean;
  /** Intra-op CPU threads while training; 0 = one per core. */
  threads: number;
  seed: number;
}

/** Deep-partial overrides, with 'auto' allowed where the device decides. */
export type TrainConfigOverrides = {
  [K in keyof TrainConfig]?: TrainConfig[K] extends object
    ? TrainConfig[K] extends unknown[]
      ? TrainConfig[K]
      : { [L in keyof TrainConfig[K]]?: Partial<TrainConfig[K][L]> | TrainConfig[K][L] }
    : TrainConfig[K] | (K extends 'precision' | 'channelsLast' | 'cudnnBenchmark' ? 'auto' : never);
};

const positiveInt = { type: 'integer', minimum: 1 };
const nonNegativeInt = { type: 'integer', minimum: 0 };
const positiveNumber = { type: 'number', exclusiveMinimum: 0 };

export const trainConfigSchema: Schema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'arch', 'stem', 'inChannels', 'zeroInitResidual', 'embeddingDim', 'head', 'queueSize', 'temperature',
    'keyMomentum', 'keyMomentumSchedule', 'shuffleGroups', 'intermediate', 'optimizer', 'totalSteps',
    'batchSize', 'imageSize', 'device', 'precision', 'channelsLast', 'cudnnBenchmark', 'threads', 'seed',
  ],
  properties: {
    arch: { type: 'string', enum: [...ARCHS] },
    stem: { type: 'string', enum: ['standard', 'small'] },
    inChannels: { type: 'integer', enum: [1, 3] },
    zeroInitResidual: { type: 'boolean' },
    embeddingDim: positiveInt,
    head: { type: 'string', enum: ['fc', 'mlp'] },
    queueSize: positiveInt,
    temperature: positiveNumber,
    keyMomentum: { type: 'number', minimum: 0, maximum: 1 },
    keyMomentumSchedule: { type: 'string', enum: ['constant', 'cosine'] },
    shuffleGroups: positiveInt,
    bnGroups: positiveInt,
    intermediate: {
      type: 'object',
      additionalProperties: false,
      required: ['loss', 'mse', 'barlow'],
      properties: {
        loss: { type: 'string', enum: [...INTERMEDIATE_LOSSES] },
        mse: {
          type: 'object',
          additionalProperties: false,
          required: ['poolSizes', 'weights'],
          properties: {
            poolSizes: { type: 'array', items: positiveInt, minItems: 4, maxItems: 4 },
            weights: { type: 'array', items: { type: 'number', minimum: 0 }, minItems: 4, maxItems: 4 },
          },
        },
        barlow: {
          type: 'object',
          additionalProperties: false,
          required: ['projectorDims', 'lambda', 'scale', 'weighting'],
          properties: {
            projectorDims: { type: 'array', items: positiveInt, minItems: 3, maxItems: 3 },
            lambda: { type: 'number', minimum: 0 },
            scale: positiveNumber,
            weighting: { type: 'string', enum: ['kaku2021', 'original'] },
          },
        },
      },
    },
    optimizer: {
      type: 'object',
      additionalProperties: false,
      required: ['lr', 'momentum', 'weightDecay', 'nesterov', 'schedule', 'warmupSteps', 'milestones', 'gamma', 'gradClip'],
      properties: {
        lr: positiveNumber,
        momentum: { type: 'number', minimum: 0, maximum: 1 },
        weightDecay: { type: 'number', minimum: 0 },
        nesterov: { type: 'boolean' },
        schedule: { type: 'string', enum: ['constant', 'step', 'cosine'] },
        warmupSteps: nonNegativeInt,
        milestones: { type: 'array', items: nonNegativeInt },
        gamma: positiveNumber,
        gradClip: { type: 'number', minimum: 0 },
      },
    },
    totalSteps: positiveInt,
    batchSize: { type: 'integer', minimum: 2 },
    imageSize: { type: 'integer', minimum: 8 },
    device: { type: 'string', pattern: '^(auto|cpu|cuda(:[0-9]+)?)$' },
    precision: { type: 'string', enum: ['fp32', 'bf16', 'fp16'] },
    channelsLast: { type: 'boolean' },
    cudnnBenchmark: { type: 'boolean' },
    threads: nonNegativeInt,
    seed: nonNegativeInt,
  },
};

/**
 * `kaku2021`: the paper as published (docs/method.md, "Presets"): ResNet-50 v1.5 with zero-init residuals,
 * fc 2048→128 without MLP head, K 65536, m 0.999, T 0.07, SGD lr 0.03 momentum 0.9 wd 1e-4,
 * constant LR, MSE λ 0.25 per block on 16²/16²/4²/4² pooled maps, Barlow Twins λ 5e-5 and
 * scale 1/32 with the 3-layer 2048 projector.
 */
export const kaku2021: TrainConfig = {
  arch: 'resnet50',
  stem: 'standard',
  inChannels: 3,
  zeroInitResidual: true,
  embeddingDim: 128,
  head: 'fc',
  queueSize: 65536,
  temperature: 0.07,
  keyMomentum: 0.999,
  keyMomentumSchedule: 'constant',
  shuffleGroups: 1,
  intermediate: {
    loss: 'mse',
    mse: { poolSizes: [16, 16, 4, 4], weights: [0.25, 0.25, 0.25, 0.25] },
    barlow: { projectorDims: [2048, 2048, 2048], lambda: 5e-5, scale: 1 / 32, weighting: 'kaku2021' },
  },
  optimizer: {
    lr: 0.03,
    momentum: 0.9,
    weightDecay: 1e-4,
    nesterov: false,
    schedule: 'constant',
    warmupSteps: 0,
    milestones: [],
    gamma: 0.1,
    gradClip: 0,
  },
  totalSteps: 100000,
  batchSize: 32,
  imageSize: 224,
  device: 'auto',
  precision: 'fp32',
  channelsLast: false,
  cudnnBenchmark: false,
  threads: 0,
  seed: 0,
};

/** `mocov2`: modern MoCo v2 — T 0.2, 2-layer MLP head, cosine LR with linear warm-up, batch 256. */
export const mocov2: TrainConfig = {
  ...kaku2021,
  zeroInitResidual: false,
  head: 'mlp',
  temperature: 0.2,
  intermediate: structuredClone(kaku2021.intermediate),
  optimizer: { ...kaku2021.optimizer, lr: 0.03, schedule: 'cosine', warmupSteps: 500 },
  batchSize: 256,
};

export const presets: Record<string, TrainConfig> = { kaku2021, mocov2 };
export type PresetName = keyof typeof presets;

/**
 * `demo`: laid over the preset when `imlm-native train` runs without --data and without --config
 * (the Fashion-MNIST demo store, or the built-in synthetic set when that is not installed) — a
 * run small enough to finish in a few minutes on 2 CPU cores: ResNet-18 with the small stem
 * (3×3, no max-pool) at 32² (the demo store's own 28² when it is there, lib/train/train-run.ts),
 * batch 32, K 4096 negatives instead of the preset's 65536, 100 steps. The user's flags still
 * override every field.
 */
/**
 * How `--init` weights whose conv1 has another number of input channels than the network are
 * treated (native/core/models/input_channels.h): refused with the fix named, or summed over the
 * input channels (RGB weights into a 1-channel network).
 */
export const INIT_CHANNELS = ['refuse', 'sum'] as const;
export type InitChannels = (typeof INIT_CHANNELS)[number];

/**
 * What a run uses when the caller names no preset, augmentation or channel adaptation of --init
 * weights, and how often it reports.
 */
export const kRunDefaults = { preset: 'kaku2021', augment: 'mocov2', reportEvery: 10, initChannels: 'refuse' } as const satisfies {
  preset: string;
  augment: string;
  reportEvery: number;
  initChannels: InitChannels;
};

export const demoOverlay = {
  arch: 'resnet18',
  stem: 'small',
  imageSize: 32,
  batchSize: 32,
  queueSize: 4096,
  totalSteps: 100,
} as const satisfies TrainConfigOverrides;

/** The named overlays: sets of fields laid over a preset before the caller's own overrides. */
export const overlays = { demo: demoOverlay } as const satisfies Record<string, TrainConfigOverrides>;
export type OverlayName = keyof typeof overlays;

/** The preset of that name; ERR_INVALID_ARG listing the presets otherwise. */
export function presetConfig(name: string): TrainConfig {
  const base = presets[name];
  if (!base) {
    throw new ImlmError(
      `Expected a preset ${Object.keys(presets).map((p) => `'${p}'`).join(' or ')} but received '${name}'`,
      'ERR_INVALID_ARG',
    );
  }
  return base;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    out[key] = isPlainObject(value) && isPlainObject(base[key]) ? deepMerge(base[key] as Record<string, unknown>, value) : value;
  }
  return out;
}

/**
 * Layers of overrides, later over earlier: objects are merged field by field (`{ optimizer: { lr } }`
 * keeps the other optimizer fields of earlier layers), arrays and values replace, undefined is skipped.
 */
export function mergeOverrides(...layers: Array<TrainConfigOverrides | undefined>): TrainConfigOverrides {
  let out: Record<string, unknown> = {};
  for (const layer of layers) if (layer) out = deepMerge(out, layer as Record<string, unknown>);
  return out as TrainConfigOverrides;
}

/** The numeric fields of TrainConfig that a command line sets directly. */
export type NumericField = 'batchSize' | 'imageSize' | 'queueSize' | 'seed' | 'inChannels' | 'threads' | 'optimizer.lr';

/**
 * What a numeric field accepts, in words taken from its schema ("an integer >= 1", "a number > 0"):
 * for a message about text that is not a number at all. The range itself is checked only when
 * the configuration is resolved.
 */
export function numericFieldText(field: NumericField): string {
  let node = trainConfigSchema as Record<string, unknown>;
  for (const key of field.split('.')) node = (node.properties as Record<string, Record<string, unknown>>)[key];
  const kind = node.type === 'integer' ? 'an integer' : 'a number';
  if (Array.isArray(node.enum)) return `${kind}: ${node.enum.join(' or ')}`;
  const bounds = [
    node.minimum !== undefined ? `>= ${node.minimum}` : node.exclusiveMinimum !== undefined ? `> ${node.exclusiveMinimum}` : '',
    node.maximum !== undefined ? `<= ${node.maximum}` : '',
  ].filter(Boolean);
  return bounds.length ? `${kind} ${bounds.join(' and ')}` : kind;
}

export interface ResolveOptions {
  /** Whether CUDA will be used: decides what 'auto' means for precision and the CUDA options. */
  cuda?: boolean;
}

/**
 * preset ← overrides, 'auto' resolved (on CUDA: bf16, channels_last, cuDNN benchmark; on CPU:
 * fp32 and channels_last), then validated. Throws ERR_INVALID_ARG naming the first bad field.
 */
export function resolveTrainConfig(
  preset: string,
  overrides: TrainConfigOverrides = {},
  options: ResolveOptions = {},
): TrainConfig {
  const base = presetConfig(preset);
  const merged = deepMerge(structuredClone(base) as unknown as Record<string, unknown>, overrides as Record<string, unknown>);
  const cuda = options.cuda ?? false;
  // What 'auto' (and an unset field) means. channels_last is on for the CPU as well: oneDNN's
  // NHWC convolutions measured 1.1–1.3× faster here (docs/benchmarks.md).
  const auto = { precision: cuda ? 'bf16' : 'fp32', channelsLast: true, cudnnBenchmark: cuda } as const;
  for (const key of ['precision', 'channelsLast', 'cudnnBenchmark'] as const) {
    if (merged[key] === 'auto' || overrides[key] === undefined) merged[key] = auto[key];
  }
  return validate<TrainConfig>(trainConfigSchema, merged, 'config');
}

/** Validates a complete configuration (e.g. read from config.json or a checkpoint). */
export function checkTrainConfig(config: unknown): TrainConfig {
  return validate<TrainConfig>(trainConfigSchema, config, 'config');
}

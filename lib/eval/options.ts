/**
 * Option schemas of the evaluation functions (validated with Ajv before anything reaches the
 * native layer) and their defaults: the paper's fine-tuning settings, the probe sweeps.
 */
import { deviceSchema } from '../config/schemas';
import type { Schema } from '../config/validate';
import { policyShapeSchema } from '../data/augment-ops';
import { ARCHS } from '../config/archs';

const positiveInt = { type: 'integer', minimum: 1 };
const nonNegative = { type: 'number', minimum: 0 };
const sweepSchema: Schema = {
  type: 'array',
  minItems: 1,
  items: { type: 'object', properties: { lr: { type: 'number', exclusiveMinimum: 0 }, weightDecay: nonNegative }, additionalProperties: false },
};

const common = {
  checkpoint: { type: 'string', minLength: 1 },
  store: { type: 'string', minLength: 1 },
  outDir: { type: 'string', minLength: 1 },
  fraction: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
  fractionSeed: { type: 'integer', minimum: 0 },
  metric: { type: 'string', enum: ['accuracy', 'auc'] },
  imageSize: positiveInt,
  device: deviceSchema,
  threads: { type: 'integer', minimum: 0 },
  seed: { type: 'integer', minimum: 0 },
};

/** loadEncoder(checkpoint, options) (lib/eval/encoder.ts). */
export const encoderOptionsSchema: Schema = {
  type: 'object',
  properties: { imageSize: common.imageSize, device: common.device, threads: common.threads },
  additionalProperties: false,
};

/** Encoder.embed(images, options) (callbacks and the signal are checked apart). */
export const encoderEmbedOptionsSchema: Schema = {
  type: 'object',
  properties: { batchSize: positiveInt, blocks: { type: 'boolean' } },
  additionalProperties: false,
};

/** eval linear / eval probe (functions and callbacks are checked apart). */
export const probeOptionsSchema: Schema = {
  type: 'object',
  required: ['checkpoint', 'store', 'outDir'],
  properties: {
    ...common,
    block: { type: 'integer', minimum: 1, maximum: 4 },
    blocks: { type: 'array', minItems: 1, items: { type: 'integer', minimum: 1, maximum: 4 } },
    method: { type: 'string', enum: ['lbfgs', 'adam'] },
    sweep: sweepSchema,
    maxIterations: positiveInt,
    epochs: positiveInt,
    batchSize: positiveInt,
    standardize: { type: 'boolean' },
    featureBatchSize: positiveInt,
    featuresDir: { type: 'string', minLength: 1 },
  },
  additionalProperties: false,
};

export const finetuneOptionsSchema: Schema = {
  type: 'object',
  required: ['store', 'outDir'],
  properties: {
    ...common,
    fromScratch: { type: 'boolean' },
    arch: { type: 'string', enum: [...ARCHS] },
    stem: { type: 'string', enum: ['standard', 'small'] },
    zeroInitResidual: { type: 'boolean' },
    augment: { anyOf: [{ type: 'string' }, { type: 'object' }] },
    lr: { type: 'number', exclusiveMinimum: 0 },
    weightDecay: nonNegative,
    batchSize: { type: 'integer', minimum: 2 },
    epochs: positiveInt,
    maxSteps: positiveInt,
    evalEvery: positiveInt,
    patience: positiveInt,
    predictBatchSize: positiveInt,
    reportEvery: positiveInt,
    resume: { type: 'boolean' },
  },
  additionalProperties: false,
};

/** `<out>/config.json` of eval finetune: the resolved options, read back on --resume. */
export const savedFinetuneConfigSchema: Schema = {
  ...finetuneOptionsSchema,
  required: ['store', 'outDir', 'imageSize', 'augment'],
  properties: { ...(finetuneOptionsSchema.properties as Record<string, Schema>), augment: { anyOf: [{ type: 'string' }, policyShapeSchema] } },
};

const finiteOrNull: Schema = { anyOf: [{ type: 'number' }, { type: 'null' }] };
const evaluationSchema: Schema = {
  type: 'object',
  required: ['step', 'epoch', 'trainLoss', 'valMetric'],
  properties: {
    step: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    epoch: { type: 'number', minimum: 0 },
    // JSON writes NaN (an undefined AUC, no loss yet) as null.
    trainLoss: finiteOrNull,
    valMetric: finiteOrNull,
  },
};

/** `<out>/progress.json` of eval finetune: the validation history, read back on --resume. */
export const finetuneProgressSchema: Schema = {
  type: 'object',
  required: ['history', 'best', 'sinceBest', 'stoppedEarly'],
  properties: {
    history: { type: 'array', items: evaluationSchema },
    best: { anyOf: [evaluationSchema, { type: 'null' }] },
    sinceBest: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    stoppedEarly: { type: 'boolean' },
  },
};

/**
 * L-BFGS needs no learning rate: only the L2 strength is swept, strongest first (ties keep the
 * more regularised head). Features are standardised, so one grid fits every block width.
 */
export const kLbfgsSweep = [1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 0].map((weightDecay) => ({ lr: 1, weightDecay }));
/** Mini-batch Adam: the reference's lr 1e-3 and ten times it, with and without L2. */
export const kAdamSweep = [
  { lr: 1e-3, weightDecay: 1e-4 },
  { lr: 1e-3, weightDecay: 0 },
  { lr: 1e-2, weightDecay: 1e-4 },
  { lr: 1e-2, weightDecay: 0 },
];

/** The paper's fine-tuning (docs/method.md, "Fine-tuning in the reference"): Adam 1e-3, no weight decay, batch 16, 100 epochs. */
export const kFinetuneDefaults = {
  lr: 1e-3,
  weightDecay: 0,
  batchSize: 16,
  epochs: 100,
  patience: 10,
  predictBatchSize: 256,
  arch: 'resnet50',
  stem: 'standard',
  zeroInitResidual: false,
} as const;

/**
 * The probes' head training: L-BFGS for at most 200 iterations per sweep point on standardised
 * features, or Adam for 30 epochs of batch 256; features computed 256 images at a time.
 */
export const kProbeDefaults = { method: 'lbfgs', maxIterations: 200, epochs: 30, batchSize: 256, standardize: true, featureBatchSize: 256 } as const;

/** A sweep point's fields left out: Adam's reference lr 1e-3, no L2. */
export const kSweepPointDefaults = { lr: 1e-3, weightDecay: 0 } as const;

/** Shared by every evaluation: the device picked automatically, one CPU thread per core, seed 0. */
export const kEvalDefaults = { device: 'auto', threads: 0, seed: 0 } as const;

/** The paper's fine-tuning augmentation per data set (by the store's source format); others get `light`. */
export const kPolicyBySource: Record<string, string> = { 'nih-cxr14': 'kaku2021-cxr', 'eyepacs-dr': 'kaku2021-dr', 'bch-idc': 'kaku2021-bch' };

/** A light default for stores of other sources: random resized crop (0.8–1) and horizontal flip. */
export const kLightPolicy = { crop: true, scaleMin: 0.8, scaleMax: 1, ratioMin: 3 / 4, ratioMax: 4 / 3, hflipP: 0.5 };

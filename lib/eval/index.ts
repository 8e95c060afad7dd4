/** Evaluation: features (embed, in-memory with loadEncoder), linear and layer-wise probing, fine-tuning, the selection metric. */
export { loadEncoder, Encoder, type Embedding, type EncoderEmbedOptions, type ImageArray, type Images, type LoadEncoderOptions } from './encoder';
export { embed, computeFeatures, disposeFeatures, type EmbedOptions, type EmbedResult, type FeatureOptions, type SplitFeatures } from './features';
export { linearProbe, layerwiseProbe, type ProbeOptions, type ProbeResult, type BlockProbeResult } from './linear';
export { finetune, finetunePaths, type FinetuneOptions, type FinetuneResult, type FinetuneProgress, type Evaluation } from './finetune';
export { selectionMetric } from './selection-metric';
export type { EvalProgress } from './cancellation';
export type { SelectionMetric } from './selection-metric';

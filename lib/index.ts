/** imlm-native's public API. */
export { ImlmError, isImlmError, type ErrorCode } from './errors';
export { tensor, liveTensorCount, checkDevice, type Tensor, type TensorOptions, type DType, type TensorData } from './tensor';
export { info, type Info } from './info';
export { doctor, type DoctorCheck, type DoctorOptions } from './doctor';
export { packageVersion as version } from './version';
export { resolveTrainConfig, checkTrainConfig, presets, kaku2021, mocov2, type TrainConfig, type TrainConfigOverrides } from './config/train-config';
export { Trainer, syntheticSource, tensorSource, fixedBatchesSource, type RunOptions, type RunSummary, type Progress, type StepMetrics, type BatchSource, type DistOptions, type Shard } from './train/trainer';
export { pretrain, type PretrainOptions, type PretrainResult } from './train/pretrain';
export { readDistEnv, type DistEnv } from './dist/env';
export { replay, type ReplayOptions } from './train/replay';
export { readSafetensors, writeSafetensors, type SafetensorsContent } from './safetensors';
export * as losses from './losses';
export { policies, resolvePolicy, type AugmentPolicy } from './data/policies';
export { augmentBatch, type AugmentedBatch } from './data/augment';
export { prepareIdx, type PrepareIdxOptions } from './data/prepare-idx';
export { readManifest, loadSplit, type Manifest } from './data/store';
export { patientSplits, labelFractions } from './data/splits';

/** Small configurations that train in seconds on 2 CPU cores. */
import { resolveTrainConfig, type TrainConfig, type TrainConfigOverrides } from '../../lib';

export function tinyConfig(overrides: TrainConfigOverrides = {}): TrainConfig {
  return resolveTrainConfig('kaku2021', {
    arch: 'resnet18',
    stem: 'small',
    imageSize: 16,
    batchSize: 8,
    queueSize: 64,
    embeddingDim: 32,
    device: 'cpu',
    ...overrides,
    intermediate: { loss: 'mse', mse: { poolSizes: [4, 4, 2, 1], weights: [0.25, 0.25, 0.25, 0.25] }, barlow: { projectorDims: [64, 64, 64] }, ...overrides.intermediate } as TrainConfigOverrides['intermediate'],
  });
}

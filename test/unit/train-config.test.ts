import { resolveTrainConfig, kaku2021, mocov2, checkTrainConfig } from '../../lib';
import { demoOverlay, mergeOverrides, numericFieldText, overlays, presetConfig } from '../../lib/config/train-config';

describe('training configuration', () => {
  test('kaku2021 is the paper as published (docs/method.md, "What imlm-native does about them")', () => {
    const c = resolveTrainConfig('kaku2021');
    expect(c).toMatchObject({
      arch: 'resnet50',
      stem: 'standard',
      zeroInitResidual: true,
      embeddingDim: 128,
      head: 'fc',
      queueSize: 65536,
      temperature: 0.07,
      keyMomentum: 0.999,
      keyMomentumSchedule: 'constant',
      intermediate: {
        loss: 'mse',
        mse: { poolSizes: [16, 16, 4, 4], weights: [0.25, 0.25, 0.25, 0.25] },
        barlow: { projectorDims: [2048, 2048, 2048], lambda: 5e-5, scale: 1 / 32, weighting: 'kaku2021' },
      },
      optimizer: { lr: 0.03, momentum: 0.9, weightDecay: 1e-4, nesterov: false, schedule: 'constant', warmupSteps: 0, gradClip: 0 },
      precision: 'fp32',
    });
  });

  test('mocov2: T 0.2, MLP head, cosine learning rate with warm-up', () => {
    expect(resolveTrainConfig('mocov2')).toMatchObject({ temperature: 0.2, head: 'mlp', optimizer: { schedule: 'cosine', warmupSteps: 500 } });
    expect(mocov2.intermediate).not.toBe(kaku2021.intermediate); // no shared objects between presets
  });

  test('any field can be overridden, nested ones field by field', () => {
    const c = resolveTrainConfig('kaku2021', { arch: 'resnet18', intermediate: { loss: 'barlow', barlow: { lambda: 1e-3 } }, optimizer: { lr: 0.1 } });
    expect(c.arch).toBe('resnet18');
    expect(c.intermediate.loss).toBe('barlow');
    expect(c.intermediate.barlow).toEqual({ projectorDims: [2048, 2048, 2048], lambda: 1e-3, scale: 1 / 32, weighting: 'kaku2021' });
    expect(c.optimizer).toMatchObject({ lr: 0.1, momentum: 0.9 });
    expect(kaku2021.arch).toBe('resnet50'); // the preset itself is untouched
  });

  test("'auto' and unset CUDA options follow the device", () => {
    expect(resolveTrainConfig('kaku2021', {}, { cuda: true })).toMatchObject({ precision: 'bf16', channelsLast: true, cudnnBenchmark: true });
    expect(resolveTrainConfig('kaku2021', {}, { cuda: false })).toMatchObject({ precision: 'fp32', channelsLast: true, cudnnBenchmark: false });
    expect(resolveTrainConfig('kaku2021', { precision: 'fp16' }, { cuda: true }).precision).toBe('fp16');
  });

  test('bad values name the field, what was expected and what was received', () => {
    expect(() => resolveTrainConfig('kaku2021', { queueSize: 0 })).toThrow('Expected a number >= 1 for config.queueSize but received 0');
    expect(() => resolveTrainConfig('kaku2021', { intermediate: { loss: 'l2' as 'mse' } })).toThrow(
      "Expected one of 'none', 'mse', 'barlow' for config.intermediate.loss but received 'l2'",
    );
    expect(() => checkTrainConfig({ ...kaku2021, extra: 1 })).toThrow(/no option 'extra'/);
  });
});

describe('overlays and layers', () => {
  test('demo: a run of a few minutes on 2 CPU cores, laid over any preset', () => {
    expect(overlays.demo).toBe(demoOverlay);
    const c = resolveTrainConfig('kaku2021', demoOverlay);
    expect(c).toMatchObject({ arch: 'resnet18', stem: 'small', imageSize: 32, batchSize: 32, queueSize: 4096, totalSteps: 100 });
    expect(resolveTrainConfig('mocov2', demoOverlay)).toMatchObject({ head: 'mlp', queueSize: 4096 });
  });

  test('mergeOverrides: later layers win, objects field by field, undefined skipped', () => {
    expect(mergeOverrides({ arch: 'resnet18', optimizer: { lr: 0.1 } }, undefined, { arch: undefined, optimizer: { momentum: 0.5 } })).toEqual({
      arch: 'resnet18',
      optimizer: { lr: 0.1, momentum: 0.5 },
    });
    expect(mergeOverrides({ optimizer: { milestones: [1, 2] } }, { optimizer: { milestones: [3] } })).toEqual({ optimizer: { milestones: [3] } });
  });

  test('presetConfig names the presets when the name is unknown', () => {
    expect(presetConfig('mocov2')).toBe(mocov2);
    expect(() => presetConfig('simclr')).toThrow(/Expected a preset 'kaku2021' or 'mocov2' but received 'simclr'/);
  });

  test("numericFieldText says in words what the schema accepts", () => {
    expect(numericFieldText('queueSize')).toBe('an integer >= 1');
    expect(numericFieldText('batchSize')).toBe('an integer >= 2');
    expect(numericFieldText('seed')).toBe('an integer >= 0');
    expect(numericFieldText('optimizer.lr')).toBe('a number > 0');
    expect(numericFieldText('inChannels')).toBe('an integer: 1 or 3');
  });
});

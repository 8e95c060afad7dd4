// The bridge's argument checks (native/bridge/js_args.h), through real bindings: the native layer
// takes no defaults, so a missing field, a wrong type and an out-of-range integer are each an
// ERR_INVALID_ARG that names the field in lib/config/validate.ts's wording.
import { native } from '../../lib/native';
import { resolvePolicy } from '../../lib/data/policies';
import { resolveDistOptions } from '../../lib/distributed/dist-options';
import { tensor } from '../../lib';
import { tinyConfig } from '../helpers/configs';
import type { TrainConfig } from '../../lib/config/train-config';

/** What the call threw, synchronously or as a rejection. */
async function failure(call: () => unknown): Promise<{ code?: string; message: string }> {
  try {
    await call();
  } catch (e) {
    return e as { code?: string; message: string };
  }
  throw new Error('expected the call to fail');
}

const syntheticOptions = () => ({
  poolSize: 8,
  channels: 1,
  imageSize: 8,
  batchSize: 4,
  seed: 0,
  policy: resolvePolicy('none'),
  prefetch: 0,
  shard: { rank: 0, worldSize: 1 },
});

describe('bridge arguments: every field required and typed', () => {
  test('the complete options are accepted', () => {
    expect(native().syntheticSource(syntheticOptions()).describe()).toEqual(expect.any(String));
  });

  test('a missing required field names it', async () => {
    const { prefetch: _left, ...options } = syntheticOptions();
    const e = await failure(() => native().syntheticSource(options as ReturnType<typeof syntheticOptions>));
    expect(e.code).toBe('ERR_INVALID_ARG');
    expect(e.message).toBe('expected options.prefetch to be given (TypeScript passes every field resolved) but received undefined');
  });

  test('a missing field of a nested object names its whole path', async () => {
    const { bnGroups: _left, ...config } = { ...tinyConfig(), bnGroups: 1 };
    const e = await failure(() => native().createTrainer(config, resolveDistOptions(undefined)));
    expect(e.code).toBe('ERR_INVALID_ARG');
    expect(e.message).toBe('expected config.bnGroups to be given (TypeScript passes every field resolved) but received undefined');
    const noMilestones = { ...tinyConfig(), bnGroups: 1, optimizer: { ...tinyConfig().optimizer, milestones: undefined } } as unknown as TrainConfig;
    const nested = await failure(() => native().createTrainer(noMilestones, resolveDistOptions(undefined)));
    expect(nested.message).toMatch(/^expected config\.optimizer\.milestones to be given .* but received undefined$/);
  });

  test('a wrong type says what was expected and what was received', async () => {
    const q = tensor(new Float32Array([1, 0]), [1, 2]);
    const queue = tensor(new Float32Array([1, 0, 0, 1]), [2, 2]);
    try {
      const e = await failure(() => native().lossInfoNce(q, q, queue, '0.5' as unknown as number));
      expect(e.code).toBe('ERR_INVALID_ARG');
      expect(e.message).toBe("expected temperature to be a number but received '0.5'");
      const choice = await failure(() => native().lossBarlowTwins(q, q, 1, 1, 'kaku' as 'original'));
      expect(choice.message).toBe("expected weighting to be one of 'kaku2021', 'original' but received 'kaku'");
      const notTensor = await failure(() => native().lossInfoNce(q, [1, 0] as unknown as typeof q, queue, 0.5));
      expect(notTensor.message).toBe('expected k to be a Tensor but received [1,0]');
    } finally {
      q.dispose();
      queue.dispose();
    }
  });

  test('an out-of-range integer gives the range', async () => {
    const e = await failure(() => native().syntheticSource({ ...syntheticOptions(), batchSize: 0 }));
    expect(e.code).toBe('ERR_INVALID_ARG');
    expect(e.message).toBe('expected options.batchSize to be an integer >= 1 but received 0');
    const fraction = await failure(() => native().syntheticSource({ ...syntheticOptions(), seed: 1.5 }));
    expect(fraction.message).toBe('expected options.seed to be an integer >= 0 but received 1.5');
    const port = await failure(() => native().createProcessGroup({ ...resolveDistOptions(undefined), masterPort: 70000 }));
    expect(port.code).toBe('ERR_INVALID_ARG');
    expect(port.message).toBe('expected dist.masterPort to be an integer in [1, 65535] but received 70000');
  });
});

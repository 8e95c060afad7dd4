// The intermediate losses have one list on each side of the bridge: the native registry
// (native/core/losses/intermediate_loss.cc), which builds them, and INTERMEDIATE_LOSSES in
// lib/config/train-config.ts, which the type and the schema derive from. They must agree.
import { Trainer } from '../../lib';
import { INTERMEDIATE_LOSSES, trainConfigSchema } from '../../lib/config/train-config';
import { native } from '../../lib/native';
import { tinyConfig } from '../helpers/configs';
import { rejection } from '../helpers/rejection';
import type { TrainConfig } from '../../lib/config/train-config';
import { resolveDistOptions } from '../../lib/distributed/dist-options';

test('the configuration schema accepts exactly the listed losses', () => {
  const schema = trainConfigSchema as { properties: { intermediate: { properties: { loss: { enum: unknown[] } } } } };
  expect(schema.properties.intermediate.properties.loss.enum).toEqual([...INTERMEDIATE_LOSSES]);
});

test.each([...INTERMEDIATE_LOSSES])('the native registry builds the listed loss %s', async (loss) => {
  const trainer = await Trainer.create(tinyConfig({ intermediate: { loss } }));
  expect(trainer.config.intermediate.loss).toBe(loss);
});

test('the native registry refuses any other name, listing exactly the TypeScript list', async () => {
  // Past the schema (which would refuse it first), straight to the bridge and the registry.
  const config = tinyConfig();
  const broken = { ...config, bnGroups: 1, intermediate: { ...config.intermediate, loss: 'l2' } } as unknown as TrainConfig;
  const e = await rejection(native().createTrainer(broken, resolveDistOptions(undefined)));
  expect(e.code).toBe('ERR_INVALID_ARG');
  const listed = INTERMEDIATE_LOSSES.map((name) => `'${name}'`).join(', ');
  expect(e.message).toBe(`expected config.intermediate.loss to be one of ${listed} but received 'l2'`);
});

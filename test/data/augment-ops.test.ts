// The augmentation op table has one source on each side of the bridge: the native table
// (native/core/augment/ops.cc: fields, ranges, draws, kernels), which the policy schema is built
// from, and lib/data/augment-ops.ts, which types and the 'none' policy derive from. They must agree.
import { native } from '../../lib/native';
import { AUGMENT_OPS, policyRules } from '../../lib/data/augment-ops';
import { policies } from '../../lib';
import { augmentBatch } from '../../lib/data/augment';
import { tensor } from '../../lib/tensor';

const nativeOps = () => native().augmentOps();

test('the TypeScript op list equals the native table: ops, fields and their types, in order', () => {
  const fromTs = AUGMENT_OPS.map((op) => ({
    name: op.name,
    fields: Object.entries(op.fields).map(([name, off]) => ({ name, type: typeof off })),
  }));
  const fromNative = nativeOps().map((op) => ({ name: op.name, fields: op.fields.map(({ name, type }) => ({ name, type })) }));
  expect(fromTs).toEqual(fromNative);
});

test("the policy schema has the native table's fields and ranges, plus base", () => {
  const { schema, ordered } = policyRules();
  const properties = schema.properties as Record<string, object>;
  expect(Object.keys(properties)).toEqual(['base', ...nativeOps().flatMap((op) => op.fields.map((f) => f.name))]);
  expect(properties.blurP).toEqual({ type: 'number', minimum: 0, maximum: 1 });
  expect(properties.scaleMin).toEqual({ type: 'number', exclusiveMinimum: 0, maximum: 1 });
  expect(properties.hue).toEqual({ type: 'number', minimum: 0, maximum: 0.5 });
  expect(properties.brightness).toEqual({ type: 'number', minimum: 0 });
  expect(properties.crop).toEqual({ type: 'boolean' });
  expect(ordered).toEqual([['scaleMin', 'scaleMax'], ['ratioMin', 'ratioMax'], ['blurSigmaMin', 'blurSigmaMax']]);
});

test('the named policies lie inside the native ranges', () => {
  const { schema } = policyRules();
  const properties = schema.properties as Record<string, { minimum?: number; exclusiveMinimum?: number; maximum?: number }>;
  for (const policy of Object.values(policies)) {
    for (const [name, value] of Object.entries(policy)) {
      const range = properties[name];
      if (typeof value !== 'number') continue;
      if (range.minimum !== undefined) expect(value).toBeGreaterThanOrEqual(range.minimum);
      if (range.exclusiveMinimum !== undefined) expect(value).toBeGreaterThan(range.exclusiveMinimum);
      if (range.maximum !== undefined) expect(value).toBeLessThanOrEqual(range.maximum);
    }
  }
});

test('augmentBatch returns the parameters the table names, in table order', async () => {
  const { params } = await augmentBatch(tensor(new Float32Array(2 * 3 * 4 * 4), [2, 3, 4, 4]), 'mocov2', 4, 0);
  expect(Object.keys(params)).toEqual(nativeOps().flatMap((op) => op.params));
});

describe('the bridge reads a policy by walking the table', () => {
  const image = () => tensor(new Float32Array(1 * 3 * 4 * 4), [1, 3, 4, 4]);
  test.each([
    ['a field missing', { ...policies.none, blurP: undefined }, /expected policy\.blurP to be given .* but received undefined/],
    ['a boolean field given a number', { ...policies.none, nearest: 1 }, /expected policy\.nearest to be a boolean/],
    ['a number out of its range', { ...policies.none, hue: 0.7 }, /expected policy\.hue to be a number >= 0 and <= 0\.5 but received 0\.7/],
    ['a range upside down', { ...policies.none, blurSigmaMin: 3, blurSigmaMax: 2 }, /expected policy\.blurSigmaMin <= policy\.blurSigmaMax but received 3 > 2/],
  ])('%s: ERR_INVALID_ARG naming the field', (_, policy, message) => {
    expect(() => native().augmentBatch(image(), policy, 4, 0)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG', message: expect.stringMatching(message) }));
  });
});
